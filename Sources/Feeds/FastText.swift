/// Byte-level string helpers for the per-item hot path (Foundation's
/// `trimmingCharacters(in:)` goes through UTF-16 and dominated profiles).
extension String {
  /// Without leading and trailing ASCII whitespace; returns `self` when nothing to trim.
  var trimmed: String {
    let u = utf8
    guard let f = u.first, let l = u.last else { return self }
    if !FastText.isSpace(f) && !FastText.isSpace(l) { return self }
    var s = u.startIndex
    var e = u.endIndex
    while s < e, FastText.isSpace(u[s]) { s = u.index(after: s) }
    while e > s, FastText.isSpace(u[u.index(before: e)]) { e = u.index(before: e) }
    return String(self[s..<e])
  }
}

extension Substring {
  var trimmed: String { String(self).trimmed }
}

enum FastText {
  @inline(__always) static func isSpace(_ c: UInt8) -> Bool {
    c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == 0x0C
  }
}
