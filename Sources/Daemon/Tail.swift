import Foundation
import Spool
import Yams

/// `feedspool tail`: the spool's deliveries in order, from the delivery log.
public struct Tail {
  public let spool: String
  private let cur = CurListing()
  public init(spool: String) { self.spool = spool }

  /// cur/'s files by name without Maildir info, listed again when cur/ changed.
  private final class CurListing {
    var byName: [String: String] = [:]
    /// cur/'s modification time as listed, and when the listing was made.
    var changedAt: Date?
    var listedAt: Date?
  }

  /// Where a delivered file is now: `new/NAME`, or `cur/NAME` with whatever Maildir
  /// info a consumer gave it (`:2,S`, `:2,RS`, ...) once it moved it there; nil when it
  /// was removed.
  public func locate(_ name: String) -> String? {
    let fm = FileManager.default
    if fm.fileExists(atPath: spool + "/new/" + name) { return "new/" + name }
    for suffix in ["", ":2,", ":2,S"] where fm.fileExists(atPath: spool + "/cur/" + name + suffix) {
      return "cur/" + name + suffix
    }
    let changed = (try? fm.attributesOfItem(atPath: spool + "/cur")[.modificationDate]) as? Date
    // Listed again when cur/ changed, or on a miss while the listing is barely younger
    // than that change (a move within the same tick of the clock leaves the time as it
    // was).
    let stale =
      changed != cur.changedAt || cur.listedAt == nil
      || (cur.byName[name] == nil
        && cur.listedAt!.timeIntervalSince(changed ?? .distantPast) < 0.1)
    if stale {
      cur.byName = [:]
      cur.changedAt = changed
      cur.listedAt = Date()
      for file in (try? fm.contentsOfDirectory(atPath: spool + "/cur")) ?? [] {
        let base = Maildir.withoutInfo(file)
        if cur.byName[base] == nil || file == base { cur.byName[base] = file }
      }
    }
    if let file = cur.byName[name], fm.fileExists(atPath: spool + "/cur/" + file) {
      return "cur/" + file
    }
    return nil
  }

  /// One output line for a record; nil when its file no longer exists.
  public func line(_ r: DeliveryRecord, json: Bool) -> String? {
    guard let rel = locate(r.name) else { return nil }
    let path = spool + "/" + rel
    guard json else { return path }
    var object: [String: Any] = ["path": path, "seq": r.seq]
    if let text = try? String(contentsOfFile: path, encoding: .utf8),
      let fm = Self.frontMatter(text)
    {
      for (k, v) in fm where k != "path" { object[k] = Self.jsonable(v) }
    }
    guard
      let data = try? JSONSerialization.data(
        withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    else { return nil }
    return String(decoding: data, as: UTF8.self)
  }

  /// The YAML front matter of an article file as a dictionary.
  public static func frontMatter(_ text: String) -> [String: Any]? {
    guard text.hasPrefix("---\n") else { return nil }
    let rest = text.dropFirst(4)
    guard let end = rest.range(of: "\n---\n") ?? rest.range(of: "\n---", options: .anchored)
    else { return nil }
    let yaml = String(rest[..<end.lowerBound])
    return (try? Yams.load(yaml: yaml)) as? [String: Any]
  }

  static func jsonable(_ v: Any) -> Any {
    switch v {
    case let d as Date:
      let f = ISO8601DateFormatter()
      f.timeZone = TimeZone(identifier: "UTC")
      return f.string(from: d)
    case let a as [Any]: return a.map(jsonable)
    case let m as [String: Any]: return m.mapValues(jsonable)
    case let m as [AnyHashable: Any]:
      var out: [String: Any] = [:]
      for (k, x) in m { out["\(k)"] = jsonable(x) }
      return out
    case is NSNull: return NSNull()
    case let s as String: return s
    case let b as Bool: return b
    case let i as Int: return i
    case let d as Double: return d
    default: return "\(v)"
    }
  }

  /// Prints every delivery after `seq` (in order), then with `follow` keeps
  /// printing new ones as they are committed, until `shouldStop` says so.
  public func run(
    json: Bool, follow: Bool, after seq: UInt64 = 0, output: (String) -> Void,
    shouldStop: () -> Bool = { false }
  ) throws {
    var offset = 0
    var waiting: [DeliveryRecord] = []
    var lastSeq = seq
    repeat {
      let (records, next) = try DeliveryLog.read(spool: spool, from: offset)
      offset = next
      waiting += records.filter { $0.seq > lastSeq }
      // A record is committed before its file is renamed into new/: in follow mode
      // give the daemon a moment to finish; files a consumer removed are skipped.
      var deadline: Date?
      while let r = waiting.first {
        if let l = line(r, json: json) {
          output(l)
          lastSeq = r.seq
          waiting.removeFirst()
          deadline = nil
        } else if follow
          && FileManager.default.fileExists(
            atPath: spool + "/tmp/\(r.seq)-\(r.name)")
        {
          if deadline == nil { deadline = Date().addingTimeInterval(5) }
          if Date() > deadline! {
            waiting.removeFirst()
            continue
          }
          usleep(20_000)
        } else {
          lastSeq = r.seq
          waiting.removeFirst()
        }
      }
      if follow { usleep(200_000) }
    } while follow && !shouldStop()
  }
}
