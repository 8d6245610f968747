#if canImport(Glibc)
  import Glibc
#endif

extension FeedBytes {
  /// CDATA sections longer than this are rewritten as escaped text before parsing.
  static let largeCDATA = 64 << 10

  /// Rewrites every CDATA section longer than `threshold` bytes as the same text escaped
  /// (`&` `<` `>` and CR as references), which libxml2 reads into the same text (the
  /// parsers merge CDATA into text anyway, XML_PARSE_NOCDATA).
  ///
  /// Why: libxml2 2.9's streaming reader feeds its push parser 512 bytes at a time, and
  /// the push parser hands on at most 300 bytes of an unterminated CDATA section per
  /// chunk, scanning everything not yet handed on for `]]>` each time: quadratic. One 8 MB
  /// CDATA body took 11 s (16 MB: 45 s) and held a parsing thread all along; as text it
  /// takes under a second. Only UTF-8 documents are touched (in other encodings `]]>`
  /// may be half of a character); comments, processing instructions and the DOCTYPE are
  /// stepped over, so only real sections are rewritten. No copy when there is none.
  mutating func escapeLargeCDATA(threshold: Int = largeCDATA) {
    guard encoding == "UTF-8", bytes.count > threshold else { return }
    let spans: [Range<Int>] = bytes.withUnsafeBufferPointer { p in
      Self.largeCDATASections(p, threshold: threshold)
    }
    if spans.isEmpty { return }
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count + bytes.count / 8)
    var from = 0
    for span in spans {
      // `span` is the content; the markup is the 9 bytes before and 3 after.
      out.append(contentsOf: bytes[from..<(span.lowerBound - 9)])
      for b in bytes[span] {
        switch b {
        case 0x26: out.append(contentsOf: [0x26, 0x61, 0x6D, 0x70, 0x3B])  // &amp;
        case 0x3C: out.append(contentsOf: [0x26, 0x6C, 0x74, 0x3B])  // &lt;
        case 0x3E: out.append(contentsOf: [0x26, 0x67, 0x74, 0x3B])  // &gt;
        // libxml2 keeps a CR of a CDATA section (it folds CR LF only in text): a
        // reference keeps it in text too.
        case 0x0D: out.append(contentsOf: [0x26, 0x23, 0x31, 0x33, 0x3B])  // &#13;
        default: out.append(b)
        }
      }
      from = span.upperBound + 3
    }
    out.append(contentsOf: bytes[from...])
    bytes = out
  }

  /// The content ranges of the CDATA sections longer than `threshold`, in order.
  static func largeCDATASections(_ p: UnsafeBufferPointer<UInt8>, threshold: Int) -> [Range<Int>] {
    guard let base = p.baseAddress else { return [] }
    let n = p.count
    var spans: [Range<Int>] = []
    var i = 0
    func starts(_ at: Int, _ s: StaticString) -> Bool {
      let c = s.utf8CodeUnitCount
      return at + c <= n && memcmp(base + at, s.utf8Start, c) == 0
    }
    func after(_ needle: StaticString, from: Int) -> Int? {
      guard from < n,
        let hit = gnuMemmem(base + from, n - from, needle.utf8Start, needle.utf8CodeUnitCount)
      else { return nil }
      return base.distance(to: hit.assumingMemoryBound(to: UInt8.self)) + needle.utf8CodeUnitCount
    }
    while i < n {
      guard let lt = memchr(base + i, 0x3C, n - i) else { break }
      i = base.distance(to: lt.assumingMemoryBound(to: UInt8.self))
      if starts(i, "<![CDATA[") {
        guard let end = after("]]>", from: i + 9) else { break }  // unterminated: left as is
        if end - 3 - (i + 9) > threshold { spans.append((i + 9)..<(end - 3)) }
        i = end
      } else if starts(i, "<!--") {
        guard let end = after("-->", from: i + 4) else { break }
        i = end
      } else if starts(i, "<?") {
        guard let end = after("?>", from: i + 2) else { break }
        i = end
      } else if starts(i, "<!DOCTYPE") {
        // The internal subset may hold '>' inside brackets: step to the '>' after them.
        var k = i + 9
        var depth = 0
        while k < n, !(p[k] == 0x3E && depth <= 0) {
          if p[k] == 0x5B { depth += 1 } else if p[k] == 0x5D { depth -= 1 }
          k += 1
        }
        i = k + 1
      } else {
        i += 1
      }
    }
    return spans
  }
}

/// glibc's memmem(3) (a GNU extension the Glibc module does not export).
@_silgen_name("memmem")
private func gnuMemmem(
  _ haystack: UnsafeRawPointer, _ haystackLength: Int, _ needle: UnsafeRawPointer,
  _ needleLength: Int
) -> UnsafeMutableRawPointer?
