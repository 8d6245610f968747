import Foundation
import Metrics
import Prometheus

/// The daemon's metrics, recorded through swift-metrics and kept in a Prometheus
/// registry: fetches by outcome, bytes, durations, deliveries and dedup hits, per
/// feed and per origin. Exposed on a loopback port and/or written as a
/// node_exporter textfile (see `MetricsExporter`); off unless configured.
public enum Telemetry {
  public static let registry = PrometheusCollectorRegistry()
  private static let once: Void = {
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
  }()

  /// Installs the Prometheus backend for swift-metrics (once per process).
  public static func bootstrap() { _ = once }

  /// The Prometheus text exposition of every metric.
  public static func exposition() -> [UInt8] { registry.emitToBuffer() }

  static func fetched(feed: String, origin: String, outcome: String, bytes: Int, seconds: Double) {
    let dims = [("feed", feed), ("origin", origin), ("outcome", outcome)]
    Counter(label: "feedspool_fetches_total", dimensions: dims).increment()
    if bytes > 0 {
      Counter(
        label: "feedspool_fetch_bytes_total", dimensions: [("feed", feed), ("origin", origin)]
      )
      .increment(by: bytes)
    }
    Metrics.Timer(label: "feedspool_fetch_duration_seconds", dimensions: [("origin", origin)])
      .recordNanoseconds(Int64(seconds * 1e9))
  }

  static func delivered(feed: String, count: Int, duplicates: Int) {
    if count > 0 {
      Counter(label: "feedspool_articles_delivered_total", dimensions: [("feed", feed)])
        .increment(by: count)
    }
    if duplicates > 0 {
      Counter(label: "feedspool_dedup_hits_total", dimensions: [("feed", feed)])
        .increment(by: duplicates)
    }
  }

  static func spoolError() {
    Counter(label: "feedspool_spool_errors_total").increment()
  }
}
