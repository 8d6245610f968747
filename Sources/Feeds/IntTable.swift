/// A small open-addressing hash map from non-zero integer keys (packed names, addresses in
/// libxml2's dictionary) to values, for lookups on every element and tag: a multiplicative
/// hash instead of `Hasher`'s SipHash, linear probing, grown at half full.
struct IntTable<Value> {
  private var keys: [UInt64]
  private var values: [Value?]
  private var shift: UInt64
  private(set) var count = 0

  init(capacity: Int = 64) {
    var size = 16
    while size < capacity * 2 { size <<= 1 }
    keys = [UInt64](repeating: 0, count: size)
    values = [Value?](repeating: nil, count: size)
    shift = UInt64(64 - size.trailingZeroBitCount)
  }

  @inline(__always) private func slot(_ key: UInt64) -> Int {
    Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
  }

  /// Key 0 is never stored (it marks an empty slot).
  subscript(key: UInt64) -> Value? {
    get {
      guard key != 0 else { return nil }
      let mask = keys.count - 1
      var i = slot(key)
      while true {
        let k = keys[i]
        if k == key { return values[i] }
        if k == 0 { return nil }
        i = (i + 1) & mask
      }
    }
    set {
      guard key != 0, let newValue else { return }  // no removal: not needed here
      if (count + 1) * 2 > keys.count { grow() }
      let mask = keys.count - 1
      var i = slot(key)
      while keys[i] != 0 && keys[i] != key { i = (i + 1) & mask }
      if keys[i] == 0 { count += 1 }
      keys[i] = key
      values[i] = newValue
    }
  }

  subscript(key: Int) -> Value? {
    get { self[UInt64(bitPattern: Int64(key))] }
    set { self[UInt64(bitPattern: Int64(key))] = newValue }
  }

  private mutating func grow() {
    let oldKeys = keys
    let oldValues = values
    self = IntTable(capacity: oldKeys.count)
    for (k, v) in zip(oldKeys, oldValues) where k != 0 { self[k] = v }
  }
}

extension IntTable: Sendable where Value: Sendable {}
