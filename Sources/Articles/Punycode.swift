import Foundation

/// Punycode (RFC 3492) for internationalized host names: the `xn--` form of each label.
/// Only the ASCII-compatible encoding step of IDNA is done: labels are lower-cased and
/// NFC-normalized first, without the full UTS 46 mapping table.
enum Punycode {
  static let base = 36
  static let tMin = 1
  static let tMax = 26
  static let skew = 38
  static let damp = 700
  static let initialBias = 72
  static let initialN = 128

  /// `bücher.example` -> `xn--bcher-kva.example`; nil if a label cannot be encoded.
  static func idnaToASCII(_ host: String) -> String? {
    // A host name is at most 253 bytes in ASCII form and a label at most 63, which every
    // scalar takes at least one of: longer input is no host, and is refused before the
    // work (encoding is quadratic in a label's length: a 40,000-scalar label took 14 s).
    guard host.utf8.count <= 4 * 253 else { return nil }
    let normalized = host.lowercased().precomposedStringWithCanonicalMapping
    // IDNA full stops: U+3002, U+FF0E, U+FF61 separate labels like ".".
    let dotted = normalized.map { c -> Character in
      c == "\u{3002}" || c == "\u{FF0E}" || c == "\u{FF61}" ? "." : c
    }
    let labels = String(dotted).split(separator: ".", omittingEmptySubsequences: false)
    var out: [String] = []
    for label in labels {
      if label.unicodeScalars.allSatisfy({ $0.isASCII }) {
        out.append(String(label))
      } else {
        let scalars = Array(label.unicodeScalars)
        guard scalars.count <= 63, let encoded = encode(scalars) else { return nil }
        out.append("xn--" + encoded)
      }
    }
    return out.joined(separator: ".")
  }

  static func adapt(_ delta: Int, _ numPoints: Int, _ firstTime: Bool) -> Int {
    var delta = firstTime ? delta / damp : delta / 2
    delta += delta / numPoints
    var k = 0
    while delta > ((base - tMin) * tMax) / 2 {
      delta /= base - tMin
      k += base
    }
    return k + (base - tMin + 1) * delta / (delta + skew)
  }

  static func digit(_ d: Int) -> Character {
    d < 26 ? Character(Unicode.Scalar(UInt8(97 + d))) : Character(Unicode.Scalar(UInt8(22 + d)))
  }

  /// RFC 3492 section 6.3, with overflow checks.
  static func encode(_ input: [Unicode.Scalar]) -> String? {
    let codes = input.map { Int($0.value) }
    var output = ""
    for c in codes where c < 0x80 { output.append(Character(Unicode.Scalar(UInt8(c)))) }
    let b = output.count
    var h = b
    if b > 0 { output.append("-") }
    var n = initialN
    var delta = 0
    var bias = initialBias
    while h < codes.count {
      guard let m = codes.filter({ $0 >= n }).min() else { return nil }
      let (mul, o1) = (m - n).multipliedReportingOverflow(by: h + 1)
      guard !o1 else { return nil }
      delta += mul
      n = m
      for c in codes {
        if c < n {
          delta += 1
          guard delta < Int(Int32.max) else { return nil }
        }
        if c == n {
          var q = delta
          var k = base
          while true {
            let t = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
            if q < t { break }
            output.append(digit(t + (q - t) % (base - t)))
            q = (q - t) / (base - t)
            k += base
          }
          output.append(digit(q))
          bias = adapt(delta, h + 1, h == b)
          delta = 0
          h += 1
        }
      }
      delta += 1
      n += 1
    }
    return output
  }
}
