/// The dedup key of an article: a 128-bit hash of its canonical URL.
///
/// 128 bits keep the chance of any collision among 10 million URLs below 10^-24, so
/// the seen index can store 16 bytes per URL instead of the URL itself.
public struct URLKey: Hashable, Sendable, CustomStringConvertible {
  public let value: UInt128

  public init(_ value: UInt128) { self.value = value }

  /// Hash of the UTF-8 bytes of `canonicalURL` (MurmurHash3 x64 128, seed 0).
  public init(canonicalURL: String) {
    var s = canonicalURL
    self.value = s.withUTF8 { Murmur3.hash128(UnsafeRawBufferPointer($0)) }
  }

  /// 32 lower-case hex digits.
  public var description: String {
    String(unsafeUninitializedCapacity: 32) { buf in
      let digits: StaticString = "0123456789abcdef"
      var v = value
      for i in stride(from: 31, through: 0, by: -1) {
        buf[i] = digits.utf8Start[Int(v & 0xF)]
        v >>= 4
      }
      return 32
    }
  }

  public init?(hex: Substring) {
    guard hex.utf8.count == 32, let v = UInt128(hex, radix: 16) else { return nil }
    self.value = v
  }
}

/// MurmurHash3, x64 128-bit variant (Austin Appleby's public-domain algorithm).
enum Murmur3 {
  @inline(__always) static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 {
    (x << r) | (x >> (64 - r))
  }

  @inline(__always) static func fmix(_ k: UInt64) -> UInt64 {
    var k = k
    k ^= k >> 33
    k &*= 0xff51_afd7_ed55_8ccd
    k ^= k >> 33
    k &*= 0xc4ce_b9fe_1a85_ec53
    k ^= k >> 33
    return k
  }

  static func hash128(_ data: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt128 {
    let c1: UInt64 = 0x87c3_7b91_1142_53d5
    let c2: UInt64 = 0x4cf5_ad43_2745_937f
    var h1 = seed
    var h2 = seed
    let n = data.count
    let blocks = n / 16
    for i in 0..<blocks {
      var k1 = UInt64(littleEndian: data.loadUnaligned(fromByteOffset: i * 16, as: UInt64.self))
      var k2 = UInt64(
        littleEndian: data.loadUnaligned(fromByteOffset: i * 16 + 8, as: UInt64.self))
      k1 &*= c1
      k1 = rotl(k1, 31)
      k1 &*= c2
      h1 ^= k1
      h1 = rotl(h1, 27)
      h1 &+= h2
      h1 = h1 &* 5 &+ 0x52dc_e729
      k2 &*= c2
      k2 = rotl(k2, 33)
      k2 &*= c1
      h2 ^= k2
      h2 = rotl(h2, 31)
      h2 &+= h1
      h2 = h2 &* 5 &+ 0x3849_5ab5
    }
    var k1: UInt64 = 0
    var k2: UInt64 = 0
    let tail = blocks * 16
    let rest = n & 15
    if rest > 8 {
      for i in stride(from: rest - 1, through: 8, by: -1) {
        k2 ^= UInt64(data[tail + i]) << (UInt64(i - 8) * 8)
      }
      k2 &*= c2
      k2 = rotl(k2, 33)
      k2 &*= c1
      h2 ^= k2
    }
    if rest > 0 {
      for i in stride(from: min(rest, 8) - 1, through: 0, by: -1) {
        k1 ^= UInt64(data[tail + i]) << (UInt64(i) * 8)
      }
      k1 &*= c1
      k1 = rotl(k1, 31)
      k1 &*= c2
      h1 ^= k1
    }
    h1 ^= UInt64(n)
    h2 ^= UInt64(n)
    h1 &+= h2
    h2 &+= h1
    h1 = fmix(h1)
    h2 = fmix(h2)
    h1 &+= h2
    h2 &+= h1
    return (UInt128(h1) << 64) | UInt128(h2)
  }
}
