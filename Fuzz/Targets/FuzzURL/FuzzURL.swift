import Articles

/// Fuzz target for `CanonicalURL` (DESIGN section 3).
///
/// Input: `reference` [0xFF `base`]. 0xFF never occurs in UTF-8, so both halves can be any
/// valid UTF-8; other invalid bytes reach the parser as U+FFFD.
///
/// Properties checked (a violation traps, so libFuzzer saves the input):
/// - the canonical form is nil or starts with `http://` or `https://`;
/// - it is a fixed point: canonicalize(canonicalize(x)) == canonicalize(x), with and
///   without the base, and `isHTTPURL` accepts it;
/// - `normalize(removingTracking: false)` is idempotent and also yields http(s) or nil;
/// - an absolute reference ignores the base (RFC 3986 5.2.2).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzURL(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  let bytes = UnsafeBufferPointer(start: size > 0 ? data : nil, count: size)
  var reference = String(decoding: bytes, as: UTF8.self)
  var base: String? = nil
  if let cut = bytes.firstIndex(of: 0xFF) {
    reference = String(decoding: UnsafeBufferPointer(rebasing: bytes[..<cut]), as: UTF8.self)
    base = String(decoding: UnsafeBufferPointer(rebasing: bytes[(cut + 1)...]), as: UTF8.self)
  }

  let once = CanonicalURL.canonicalize(reference, base: base)
  if let once {
    check(once.hasPrefix("http://") || once.hasPrefix("https://"), "not http(s)", reference, base, once)
    let twice = CanonicalURL.canonicalize(once)
    check(twice == once, "not idempotent: second pass gave \(String(reflecting: twice))", reference, base, once)
    let twiceWithBase = CanonicalURL.canonicalize(once, base: base)
    check(twiceWithBase == once, "absolute canonical URL changed by the base", reference, base, once)
    check(CanonicalURL.isHTTPURL(once), "isHTTPURL rejects a canonical URL", reference, base, once)
  }
  if base != nil, let absolute = CanonicalURL.canonicalize(reference) {
    check(absolute == once, "absolute reference depends on the base: \(String(reflecting: once))", reference, base, absolute)
  }

  let kept = CanonicalURL.normalize(reference, base: base, removingTracking: false)
  if let kept {
    check(kept.hasPrefix("http://") || kept.hasPrefix("https://"), "normalize: not http(s)", reference, base, kept)
    let again = CanonicalURL.normalize(kept, base: nil, removingTracking: false)
    check(again == kept, "normalize not idempotent: second pass gave \(String(reflecting: again))", reference, base, kept)
    // Removing tracking parameters from the normalized form gives the canonical form.
    check(CanonicalURL.canonicalize(kept) == once, "canonicalize(normalize(x)) != canonicalize(x): \(String(reflecting: once))", reference, base, kept)
  } else {
    check(once == nil, "normalize nil but canonicalize not", reference, base, once ?? "")
  }
  return 0
}

func check(_ ok: Bool, _ what: @autoclosure () -> String, _ reference: String, _ base: String?, _ result: String) {
  guard !ok else { return }
  fatalError(
    "CanonicalURL: \(what())\n  reference: \(String(reflecting: reference))\n  base: \(String(reflecting: base))\n  result: \(String(reflecting: result))"
  )
}
