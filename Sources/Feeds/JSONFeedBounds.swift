/// Bounds a JSON Feed before JSONSerialization reads it. JSONSerialization takes about
/// 1.3 KB for every object and half a kilobyte for every string: 10 MB of `{}` items took
/// 1.3 GB, 10 MB of `{"id":"1"}` items 2 GB. The top-level `items` array is cut after
/// the items a feed keeps (the rest are only counted), and a document that still holds
/// more than the limits below is refused.
enum JSONFeedBounds {
  /// Objects and arrays a document may hold once its items are cut (a 1,000-item feed
  /// holds a few thousand).
  static let maxContainers = 50_000
  /// Values of any kind, keys included.
  static let maxValues = 250_000

  struct Trimmed {
    var bytes: [UInt8]
    var droppedItems = 0
    var containers = 0
    var values = 0
  }

  /// `b` with the entries of its top-level `items` array after the first `keep` dropped,
  /// and the containers and values of what is left, down to the depth JSONSerialization
  /// reads. Bytes that are not JSON are counted as well as they can be (a bare word is a
  /// value: the repair makes it null); the parser judges them afterwards.
  static func trim(_ b: [UInt8], keepItems keep: Int) -> Trimmed {
    var t = Trimmed(bytes: [])
    var depth = 0
    var itemsDepth = -1  // depth inside the top-level items array, while open
    var items = 0
    var keyIsItems = false  // the last depth-1 key read was "items"
    var cut: (from: Int, to: Int)?
    var i = 0
    let n = b.count
    while i < n {
      let c = b[i]
      switch c {
      case 0x22:  // a string: a key when a ':' follows
        let end = stringEnd(b, from: i)
        if depth <= readDepth { t.values += 1 }
        if depth == 1 {
          var j = end
          while j < n, isSpace(b[j]) { j += 1 }
          if j < n, b[j] == 0x3A {
            keyIsItems = end - i == 7 && b[i + 1..<end - 1].elementsEqual("items".utf8)
          }
        }
        i = end
        continue
      case 0x7B, 0x5B:  // { [
        if depth < readDepth {
          t.containers += 1
          t.values += 1
        }
        depth += 1
        if c == 0x5B && depth == 2 && keyIsItems && itemsDepth < 0 { itemsDepth = depth }
        keyIsItems = false
      case 0x7D, 0x5D:  // } ]
        if depth == itemsDepth { itemsDepth = -2 }  // closed: never reopened
        depth -= 1
      case 0x2C:  // ,
        if depth == itemsDepth {
          items += 1
          if items == keep {
            let (close, dropped) = arrayEnd(b, from: i + 1)
            cut = (i, close)
            t.droppedItems = dropped
            i = close
            continue
          }
        }
      case 0x3A, 0x20, 0x09, 0x0A, 0x0D: break
      default:
        // Anything else starts a number, a literal or a word the repair makes null.
        if depth <= readDepth, i == 0 || !isScalarByte(b[i - 1]) { t.values += 1 }
      }
      i += 1
    }
    if let cut {
      t.bytes = Array(b[..<cut.from]) + b[cut.to...]
    } else {
      t.bytes = b
    }
    return t
  }

  /// The index after the string that opens at `b[from]` (the end if it never closes).
  static func stringEnd(_ b: [UInt8], from: Int) -> Int {
    var i = from + 1
    while i < b.count {
      if b[i] == 0x5C {
        i += 2
        continue
      }
      if b[i] == 0x22 { return i + 1 }
      i += 1
    }
    return b.count
  }

  /// From just after a top-level ',' of an array: the index of the array's ']' (or the
  /// end), and how many entries lie before it.
  static func arrayEnd(_ b: [UInt8], from: Int) -> (close: Int, entries: Int) {
    var entries = 0
    var sawValue = false
    var i = from
    while i < b.count {
      let c = b[i]
      switch c {
      case 0x22:
        sawValue = true
        i = stringEnd(b, from: i)
        continue
      case 0x7B, 0x5B:
        sawValue = true
        i = JSONRepair.skipValue(b, from: i)
        continue
      case 0x7D, 0x5D:
        return (i, entries + (sawValue ? 1 : 0))
      case 0x2C:
        entries += 1
        sawValue = false
      default:
        if !isSpace(c) { sawValue = true }
      }
      i += 1
    }
    return (b.count, entries + (sawValue ? 1 : 0))
  }

  static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }

  /// Bytes that continue a number, a literal or a bare word: all but white space,
  /// structure and quotes.
  static func isScalarByte(_ c: UInt8) -> Bool {
    !(isSpace(c) || c == 0x2C || c == 0x3A || c == 0x7B || c == 0x7D || c == 0x5B || c == 0x5D
      || c == 0x22)
  }

  /// JSONSerialization reads objects and arrays down to this depth (the repair nulls
  /// deeper ones only when the document is repaired at all).
  static let readDepth = 512
}
