/// Slug pieces of single scalars, read from a table generated once from ICU
/// (`Scripts/gen-slug-table.swift`, data in `SlugTable+Data.swift`): Latin with its
/// accents and symbols, Greek, Cyrillic, Armenian, Hebrew, Arabic, Georgian, kana, Han,
/// Hangul, full-width forms. Titles in those scripts never open ICU's transliterators,
/// which cost about 7 MB of resident memory (their rules and ICU's data pages) and more
/// time per title than the rest of an article.
///
/// The table is read in place: its two strings are static data, and only the piece
/// offsets (539 of them) are built, once.
enum SlugTable {
  /// A scalar's piece: `[a-z0-9-]` bytes (`-` a separator), and whether it is a word of
  /// its own; nil when the table does not cover the scalar.
  static func piece(_ v: UInt32) -> (bytes: UnsafeBufferPointer<UInt8>, word: Bool)? {
    var base = 0
    for r in ranges {
      if v < r.first { return nil }
      let count = Int(r.last - r.first) + 1
      if v <= r.last {
        let at = indices.utf8Start + 2 * (base + Int(v - r.first))
        let (start, end) = offsets[digit(at[0]) << 6 | digit(at[1])]
        return (UnsafeBufferPointer(start: pieceList.utf8Start + start, count: end - start), r.word)
      }
      base += count
    }
    return nil
  }

  /// Start and end of each piece in `pieceBytes`.
  static let offsets: [(Int, Int)] = {
    var out: [(Int, Int)] = []
    var start = 0
    let bytes = UnsafeBufferPointer(start: pieceList.utf8Start, count: pieceList.utf8CodeUnitCount)
    for (i, b) in bytes.enumerated() where b == 0x2C {
      out.append((start, i))
      start = i + 1
    }
    return out
  }()

  @inline(__always) static func digit(_ b: UInt8) -> Int {
    switch b {
    case 0x30...0x39: return Int(b - 0x30)
    case 0x41...0x5A: return Int(b - 0x41) + 10
    case 0x61...0x7A: return Int(b - 0x61) + 36
    case 0x2B: return 62
    default: return 63
    }
  }

  /// The pieces of a Hangul syllable (U+AC00...U+D7A3): initial, medial, final jamo.
  static func hangul(_ v: UInt32) -> (String, String, String)? {
    guard v >= 0xAC00 && v <= 0xD7A3 else { return nil }
    let s = Int(v - 0xAC00)
    return (hangulInitials[s / (21 * 28)], hangulMedials[s / 28 % 21], hangulFinals[s % 28])
  }
}
