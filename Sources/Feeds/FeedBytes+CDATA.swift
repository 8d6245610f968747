import XML

extension FeedBytes {
  /// Documents with a CDATA section longer than this go to the DOM parser.
  static let largeCDATA = 64 << 10

  /// Whether `bytes` may hold a CDATA section longer than `threshold` bytes.
  ///
  /// Why it matters: libxml2 2.9's streaming reader feeds its push parser 512 bytes at a
  /// time, and the push parser hands on at most 300 bytes of an unterminated CDATA section
  /// per chunk, scanning everything not yet handed on for `]]>` each time: quadratic. One
  /// 8 MB CDATA body took 11-13 s of a parsing thread; libxml2's DOM parser reads it in
  /// under a tenth of a second. So such documents skip the streaming reader.
  ///
  /// Each `<![CDATA[` is paired with the next `]]>`, markup unseen: a `<![CDATA[` in a
  /// comment or an entity value may pair wrongly, but a pairing only ever spans more than
  /// the real section it covers, so a long real section is never missed. A false alarm
  /// costs only the DOM parser's memory.
  static func hasLargeCDATA(_ bytes: [UInt8], threshold: Int = largeCDATA) -> Bool {
    guard bytes.count > threshold else { return false }
    return bytes.withUnsafeBytes { raw -> Bool in
      var i = 0
      while let open = ByteSearch.find("<![CDATA[", in: raw, from: i) {
        let start = open + 9
        guard let end = ByteSearch.find("]]>", in: raw, from: start) else {
          return raw.count - start > threshold  // unterminated: as long as the rest
        }
        if end - start > threshold { return true }
        i = end + 3
      }
      return false
    }
  }
}
