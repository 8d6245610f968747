import Foundation

/// The daemon's agenda: which feed or page is due when, as a binary min-heap, so
/// that each scheduling step costs O(log n) instead of a scan of every feed.
/// Stale entries (a job re-queued with a new time) are skipped lazily.
struct DueQueue {
  private var heap: [(due: Date, id: String, version: Int)] = []
  private var current: [String: Int] = [:]
  private var nextVersion = 0

  var isEmpty: Bool { current.isEmpty }

  /// Schedules (or reschedules) `id` at `due`.
  mutating func schedule(_ id: String, at due: Date) {
    nextVersion += 1
    current[id] = nextVersion
    heap.append((due, id, nextVersion))
    var i = heap.count - 1
    while i > 0 {
      let p = (i - 1) / 2
      if heap[p].due <= heap[i].due { break }
      heap.swapAt(p, i)
      i = p
    }
  }

  /// Forgets `id` (a removed feed, a running or retired one).
  mutating func remove(_ id: String) { current[id] = nil }

  /// The earliest live due time.
  mutating func earliest() -> Date? {
    dropStale()
    return heap.first?.due
  }

  /// Removes and returns every id due at `now`, earliest first.
  mutating func popDue(_ now: Date) -> [String] {
    var out: [String] = []
    while true {
      dropStale()
      guard let top = heap.first, top.due <= now else { return out }
      popTop()
      current[top.id] = nil
      out.append(top.id)
    }
  }

  private mutating func dropStale() {
    while let top = heap.first, current[top.id] != top.version { popTop() }
  }

  private mutating func popTop() {
    let last = heap.removeLast()
    guard !heap.isEmpty else { return }
    heap[0] = last
    var i = 0
    while true {
      let l = 2 * i + 1
      let r = l + 1
      var m = i
      if l < heap.count && heap[l].due < heap[m].due { m = l }
      if r < heap.count && heap[r].due < heap[m].due { m = r }
      if m == i { return }
      heap.swapAt(i, m)
      i = m
    }
  }
}
