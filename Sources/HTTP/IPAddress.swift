#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// An IPv4 or IPv6 address, and the kind of network it belongs to.
///
/// Pure value type: the SSRF guard of `Fetcher` asks it whether the address a transfer is
/// about to connect to (or is connected to) is on the public internet.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
  /// Host byte order: 127.0.0.1 is 0x7F00_0001.
  case v4(UInt32)
  /// The 16 octets in network order.
  case v6([UInt8])

  /// Where an address leads. Everything but `.public` is refused to URLs that came from the
  /// network, unless the operator allowed the host:port.
  public enum Scope: String, Sendable, CaseIterable {
    case `public`
    /// 127.0.0.0/8, ::1
    case loopback
    /// 0.0.0.0/8, ::
    case unspecified
    /// 169.254.0.0/16, fe80::/10
    case linkLocal
    /// 10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10 (deprecated site-local)
    case `private`
    /// 100.64.0.0/10, carrier-grade NAT
    case sharedAddressSpace
    /// 224.0.0.0/4, ff00::/8
    case multicast
    /// 255.255.255.255
    case broadcast
    /// 240.0.0.0/4 (reserved for future use; never routed on the internet)
    case reserved
  }

  /// Parses a literal: dotted IPv4 ("192.0.2.1") or IPv6 ("2001:db8::1", brackets allowed,
  /// a zone suffix "%eth0" is ignored).
  public init?(_ text: String) {
    var literal = Substring(text)
    if literal.hasPrefix("[") && literal.hasSuffix("]") {
      literal = literal.dropFirst().dropLast()
    }
    if let percent = literal.firstIndex(of: "%") { literal = literal[..<percent] }
    let string = String(literal)
    var v4 = in_addr()
    if inet_pton(AF_INET, string, &v4) == 1 {
      self = .v4(UInt32(bigEndian: v4.s_addr))
      return
    }
    var v6 = in6_addr()
    if inet_pton(AF_INET6, string, &v6) == 1 {
      self = .v6(withUnsafeBytes(of: &v6) { Array($0) })
      return
    }
    return nil
  }

  /// Reads a `sockaddr_in` / `sockaddr_in6`; nil for any other family.
  init?(sockaddr pointer: UnsafeRawPointer) {
    let family = pointer.load(as: sockaddr.self).sa_family
    switch Int32(family) {
    case AF_INET:
      let address = pointer.load(as: sockaddr_in.self)
      self = .v4(UInt32(bigEndian: address.sin_addr.s_addr))
    case AF_INET6:
      var address = pointer.load(as: sockaddr_in6.self)
      self = .v6(withUnsafeBytes(of: &address.sin6_addr) { Array($0) })
    default:
      return nil
    }
  }

  /// The port of a `sockaddr_in` / `sockaddr_in6` (0 for other families).
  static func port(sockaddr pointer: UnsafeRawPointer) -> Int {
    switch Int32(pointer.load(as: sockaddr.self).sa_family) {
    case AF_INET: return Int(UInt16(bigEndian: pointer.load(as: sockaddr_in.self).sin_port))
    case AF_INET6: return Int(UInt16(bigEndian: pointer.load(as: sockaddr_in6.self).sin6_port))
    default: return 0
    }
  }

  public var scope: Scope {
    switch self {
    case .v4(let a): return Self.scope(v4: a)
    case .v6(let b): return Self.scope(v6: b)
    }
  }

  /// True when the address is a plain unicast address on the public internet.
  public var isPublic: Bool { scope == .public }

  /// "192.0.2.1", or the compressed IPv6 form "2001:db8::1" (no brackets).
  public var description: String {
    var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
    switch self {
    case .v4(let a):
      var address = in_addr(s_addr: a.bigEndian)
      _ = inet_ntop(AF_INET, &address, &buffer, socklen_t(buffer.count))
    case .v6(let bytes):
      var address = in6_addr()
      withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: bytes) }
      _ = inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count))
    }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// The form used in "host:port" allow entries: IPv6 in brackets.
  var hostForm: String {
    switch self {
    case .v4: return description
    case .v6: return "[\(description)]"
    }
  }

  private static func scope(v4 a: UInt32) -> Scope {
    func inNet(_ net: UInt32, _ bits: UInt32) -> Bool {
      let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
      return a & mask == net
    }
    if a == 0xFFFF_FFFF { return .broadcast }
    if inNet(0x0000_0000, 8) { return .unspecified }
    if inNet(0x7F00_0000, 8) { return .loopback }
    if inNet(0xA9FE_0000, 16) { return .linkLocal }
    if inNet(0x0A00_0000, 8) || inNet(0xAC10_0000, 12) || inNet(0xC0A8_0000, 16) {
      return .private
    }
    if inNet(0x6440_0000, 10) { return .sharedAddressSpace }
    if inNet(0xE000_0000, 4) { return .multicast }
    if inNet(0xF000_0000, 4) { return .reserved }
    return .public
  }

  private static func scope(v6 b: [UInt8]) -> Scope {
    precondition(b.count == 16)
    let allZeroPrefix = b[0..<10].allSatisfy { $0 == 0 }
    // ::ffff:a.b.c.d (IPv4-mapped): the kernel connects to the IPv4 address.
    if allZeroPrefix && b[10] == 0xFF && b[11] == 0xFF {
      return scope(v4: embeddedV4(b))
    }
    // 64:ff9b::a.b.c.d (NAT64 well-known prefix): a translator connects to the IPv4 address.
    if b[0..<12].elementsEqual([0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0]) {
      return scope(v4: embeddedV4(b))
    }
    if b[0..<15].allSatisfy({ $0 == 0 }) {
      return b[15] == 1 ? .loopback : (b[15] == 0 ? .unspecified : .reserved)
    }
    if b[0] == 0xFF { return .multicast }
    if b[0] == 0xFE && b[1] & 0xC0 == 0x80 { return .linkLocal }
    if b[0] == 0xFE && b[1] & 0xC0 == 0xC0 { return .private }
    if b[0] & 0xFE == 0xFC { return .private }
    // ::a.b.c.d, IPv4-compatible (deprecated) and the rest of ::/96: never public.
    if allZeroPrefix && b[10] == 0 && b[11] == 0 { return .reserved }
    return .public
  }

  private static func embeddedV4(_ b: [UInt8]) -> UInt32 {
    UInt32(b[12]) << 24 | UInt32(b[13]) << 16 | UInt32(b[14]) << 8 | UInt32(b[15])
  }
}
