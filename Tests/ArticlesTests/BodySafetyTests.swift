import Testing

@testable import Articles

@Suite struct BodySafetyTests {
  let z = "\u{200B}"

  @Test func controlsAreRemovedAndLineEndingsUnified() {
    #expect(
      BodySafety.sanitize("a\u{0}b\u{1B}[2Jc\u{7F}\u{9B}d\r\ne\rf\u{FEFF}\tg") == "ab[2Jcd\ne\nf\tg"
    )
  }

  @Test(arguments: [
    ("<script>", "<\u{200B}script>"), ("< SCRIPT src=x>", "<\u{200B} SCRIPT src=x>"),
    ("<iframe", "<\u{200B}iframe"),
    ("<meta http-equiv=refresh>", "<\u{200B}meta http-equiv=refresh>"),
    ("<embed", "<\u{200B}embed"), ("<frameset", "<\u{200B}frameset"),
  ])
  func activeElementsAreBroken(input: String, expected: String) {
    #expect(BodySafety.sanitize(input) == expected)
  }

  @Test(arguments: [
    ("javascript:x", "javascript\u{200B}:x"), ("VBScript :x", "VBScript \u{200B}:x"),
    ("data:text/html,x", "data\u{200B}:text/html,x"),
    ("data: text/html", "data\u{200B}: text/html"),
    ("data:image/png", "data:image/png"), ("Note: fine", "Note: fine"),
  ])
  func scriptSchemesAreBroken(input: String, expected: String) {
    #expect(BodySafety.sanitize(input) == expected)
  }

  @Test(arguments: [
    ("<img src=x onerror=alert(1)>", "<img src=x \u{200B}onerror=alert(1)>"),
    ("<a\tONCLICK = x>", "<a\t\u{200B}ONCLICK = x>"),
    ("turn on the light", "turn on the light"), ("x on= y", "x on= y"),
  ])
  func eventHandlersAreBroken(input: String, expected: String) {
    #expect(BodySafety.sanitize(input) == expected)
  }

  /// Letters that a case-insensitive Unicode search takes for `s`, `i` and `k` (ſ, İ, ı
  /// and the Kelvin sign; Python's `re.I`, which the spool checker uses) spell the same
  /// words.
  @Test(arguments: [
    ("javaſcript:x", "javaſcript\u{200B}:x"), ("<ſcript>", "<\u{200B}ſcript>"),
    ("<İframe", "<\u{200B}İframe"), ("<ıframe", "<\u{200B}ıframe"),
    ("<ſtyle>", "<\u{200B}ſtyle>"), ("<lınk", "<\u{200B}lınk"),
    ("vbſcrİpt :x", "vbſcrİpt \u{200B}:x"), ("x onſubmit=1", "x \u{200B}onſubmit=1"),
    ("x on\u{212A}ey=1", "x \u{200B}on\u{212A}ey=1"), ("<lin\u{212A}", "<\u{200B}lin\u{212A}"),
    ("ſcript ſ: ı", "ſcript ſ: ı"),
  ])
  func lettersThatFoldToASCIISpellTheSameWords(input: String, expected: String) {
    #expect(BodySafety.sanitize(input) == expected)
    #expect(BodySafety.sanitize(expected) == expected)
  }

  @Test func sanitizeIsIdempotent() {
    let s = "<script> javascript:x <img onerror=1> data:text/html \u{1B}"
    let once = BodySafety.sanitize(s)
    #expect(BodySafety.sanitize(once) == once)
  }

  @Test func ordinaryTextIsUntouched() {
    let s = "Plain text with émoji 🚀, a < b, x = 1, and http://example.com/?a=b:c\n\n| t | u |"
    #expect(BodySafety.sanitize(s) == s)
  }
}
