import XML

extension HTMLSanitizer {
  /// The searches ahead the sanitizer makes, remembered so that markup that never ends
  /// costs one pass, not one pass for every `<` (a description of 100,000 `<b ` took 81 s:
  /// each unterminated tag was read to the end of the text, then the next one).
  ///
  /// The cursor only moves forward, so the first `>` or `-->` at or after an earlier
  /// start is still the first at or after a later one. For tags, which can hide a `>` in
  /// a quoted value, the scan is the state machine of `run`'s tag reader: a scan that
  /// reaches the end marks every (offset, state) it passed, and a later scan that meets a
  /// marked pair stops there (it would read the same bytes the same way).
  struct Lookahead {
    let p: UnsafeBufferPointer<UInt8>
    let n: Int
    private var greater = -1
    private var commentClose = -1
    /// Set once a tag ran to the end: from then on `tagEnds` is asked before each tag.
    var armed = false
    /// Per offset, a bit for each scan state known to run to the end without a `>`.
    private var dead: [UInt8] = []
    private var path: [Int] = []  // offset << 3 | state of the scan in progress

    init(_ p: UnsafeBufferPointer<UInt8>, count n: Int) {
      self.p = p
      self.n = n
    }

    /// The offset of the first `>` at or after `from`, or `n`.
    mutating func greaterThan(from: Int) -> Int {
      if greater < from {
        greater = from
        while greater < n, p[greater] != 0x3E { greater += 1 }
      }
      return greater
    }

    /// The offset of the first `-->` at or after `from`, or `n`.
    mutating func commentEnd(from: Int) -> Int {
      if commentClose < from {
        let raw = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: p[0..<n]))
        commentClose = ByteSearch.find("-->", in: raw, from: from) ?? n
      }
      return commentClose
    }

    // The tag reader's states (see `run`).
    private static let name: UInt8 = 0
    private static let between: UInt8 = 1
    private static let attribute: UInt8 = 2
    private static let afterAttribute: UInt8 = 3
    private static let afterEquals: UInt8 = 4
    private static let doubleQuoted: UInt8 = 5
    private static let singleQuoted: UInt8 = 6
    private static let unquoted: UInt8 = 7

    /// Whether the tag whose name starts at `nameStart` ends with a `>` before the end of
    /// the text, read exactly as `run` reads it.
    mutating func tagEnds(nameStart: Int) -> Bool {
      if dead.isEmpty { dead = [UInt8](repeating: 0, count: n) }
      path.removeAll(keepingCapacity: true)
      var k = nameStart
      var s = Self.name
      while k < n {
        if dead[k] & (1 << s) != 0 { break }
        path.append(k << 3 | Int(s))
        let c = p[k]
        let space = HTMLSanitizer.isSpace(c)
        switch s {
        case Self.name:
          if space || c == 0x3E || c == 0x2F { s = Self.between } else { k += 1 }
        case Self.between:
          if c == 0x3E { return true }
          if space || c == 0x2F { k += 1 } else { s = Self.attribute }
        case Self.attribute:
          if space || c == 0x3E || c == 0x3D || (c == 0x2F && p[k + 1] == 0x3E) {
            s = Self.afterAttribute
          } else {
            k += 1
          }
        case Self.afterAttribute:
          if space {
            k += 1
          } else if c == 0x3D {
            k += 1
            s = Self.afterEquals
          } else {
            s = Self.between
          }
        case Self.afterEquals:
          if space {
            k += 1
          } else if c == 0x22 {
            k += 1
            s = Self.doubleQuoted
          } else if c == 0x27 {
            k += 1
            s = Self.singleQuoted
          } else {
            s = Self.unquoted
          }
        case Self.doubleQuoted, Self.singleQuoted:
          k += 1
          if c == (s == Self.doubleQuoted ? 0x22 : 0x27) { s = Self.between }
        default:  // unquoted
          if space || c == 0x3E { s = Self.between } else { k += 1 }
        }
      }
      for step in path { dead[step >> 3] |= 1 << UInt8(step & 7) }
      return false
    }
  }
}
