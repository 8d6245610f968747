import Foundation
import Testing

@testable import Daemon

@Test func readsTheContractKeys() throws {
  let c = try Config.parse(
    """
    spool: /srv/spool
    state: /srv/state
    interval: 30m
    feeds:
      - url: https://example.org/feed.xml
        topics: [AI, ML]
        category: research
        interval: 1h30m
        fullText: true
      - https://example.net/atom.xml
    articles:
      - url: https://example.com/a/page
        topics: [AI]
    network:
      allow: ["127.0.0.1:8080"]
    """, environment: [:])
  #expect(c.spool == "/srv/spool")
  #expect(c.state == "/srv/state")
  #expect(c.interval == 1800)
  #expect(c.feeds.count == 2)
  #expect(c.feeds[0].topics == ["AI", "ML"])
  #expect(c.feeds[0].category == "research")
  #expect(c.feeds[0].interval == 5400)
  #expect(c.feeds[0].fullText)
  #expect(c.feeds[1].url == "https://example.net/atom.xml")
  #expect(!c.feeds[1].fullText)
  #expect(c.articles.map(\.url) == ["https://example.com/a/page"])
  #expect(c.network.allow == ["127.0.0.1:8080"])
  #expect(c.warnings.isEmpty)
}

@Test func defaultsFollowStateDirectory() throws {
  let c = try Config.parse("feeds: []", environment: ["STATE_DIRECTORY": "/var/lib/feedspool"])
  #expect(c.spool == "/var/lib/feedspool/spool")
  #expect(c.state == "/var/lib/feedspool/state")
  let d = try Config.parse("", environment: [:])
  #expect(d.spool == "./spool")
  #expect(d.interval == 3600)
}

@Test func errorsNameFileLineAndField() {
  do {
    _ = try Config.parse(
      """
      interval: soon
      feeds:
        - url: ftp://example.org/feed
        - topics: [x]
      """, file: "cfg.yaml", environment: [:])
    Issue.record("expected errors")
  } catch {
    let text = error.issues.map(\.description)
    #expect(text.contains { $0.hasPrefix("cfg.yaml:1:") && $0.contains("interval") })
    #expect(text.contains { $0.hasPrefix("cfg.yaml:3:") && $0.contains("feeds[0].url") })
    #expect(text.contains { $0.contains("feeds[1].url") && $0.contains("missing") })
  }
}

@Test func brokenYAMLIsAnErrorWithALine() {
  do {
    _ = try Config.parse("feeds:\n  - url: [unclosed\n", file: "x.yaml", environment: [:])
    Issue.record("expected an error")
  } catch {
    #expect(error.issues.first?.line != nil)
  }
}

@Test func unknownKeysAreWarnings() throws {
  let c = try Config.parse(
    "feeds:\n  - url: https://a.example/f\n    fulltext: true\n", environment: [:])
  #expect(c.warnings.count == 1)
  #expect(c.warnings[0].field == "feeds[0].fulltext")
}

@Test func durations() {
  #expect(ConfigReader.parseDuration("90s") == 90)
  #expect(ConfigReader.parseDuration("15m") == 900)
  #expect(ConfigReader.parseDuration("1h30m") == 5400)
  #expect(ConfigReader.parseDuration("2d") == 172800)
  #expect(ConfigReader.parseDuration("45") == 2700)
  #expect(ConfigReader.parseDuration("soon") == nil)
  #expect(ConfigReader.parseDuration("1x") == nil)
}

/// Plain scalars are read as the field wants them (the config is composed without Yams'
/// regular-expression resolver): YAML 1.1 booleans in their three spellings, numbers
/// and null (`~`); a quoted "true" or a `1` is not a boolean, a quoted "8" is not a number.
@Test func scalarsAreReadAsTheFieldWantsThem() throws {
  let c = try Config.parse(
    """
    jobs: 0x0c
    articles: ~
    feeds:
      - url: https://a.example/f
        fullText: Yes
      - url: https://b.example/f
        fullText: OFF
      - url: https://c.example/f
        fullText: on
    """, environment: [:])
  #expect(c.jobs == 12)
  #expect(c.articles.isEmpty)
  #expect(c.feeds.map(\.fullText) == [true, false, true])
  for bad in ["fullText: \"true\"", "fullText: 1", "fullText: tRuE"] {
    #expect(throws: ConfigErrors.self) {
      try Config.parse("feeds:\n  - url: https://a.example/f\n    \(bad)\n", environment: [:])
    }
  }
  #expect(throws: ConfigErrors.self) { try Config.parse("jobs: \"8\"\n", environment: [:]) }
}

/// A feed URL must be an http(s) URL with a host, as written: no white space or
/// characters RFC 3986 never allows; an internationalized host is fine.
@Test func feedURLsAreCheckedAsWritten() throws {
  let ok = try Config.parse(
    "feeds:\n  - https://bücher.example/rss\n  - \"  http://127.0.0.1:8080/f?a=1&b=%20  \"\n",
    environment: [:])
  #expect(
    ok.feeds.map(\.url) == ["https://bücher.example/rss", "http://127.0.0.1:8080/f?a=1&b=%20"])
  for bad in [
    "https://example.org/my feed.xml", "https://example.org/a|b", "https://",
    "mailto:a@example.org", "https://exa<mple.org/",
  ] {
    #expect(throws: ConfigErrors.self, "\(bad)") {
      try Config.parse("feeds:\n  - \"\(bad)\"\n", environment: [:])
    }
  }
}
