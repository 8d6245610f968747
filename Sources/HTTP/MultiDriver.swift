import CCurl
import Dispatch
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Owns the one libcurl multi handle and the one thread that drives it.
///
/// The thread loops: take new and cancelled transfers from the lock-protected queues, add
/// or remove them, `curl_multi_perform`, collect finished transfers, `curl_multi_poll`
/// until a socket is ready, a timer is due or `curl_multi_wakeup` is called (every enqueue
/// calls it). All transfers share the multi handle's connection pool and DNS cache; none has
/// a thread of its own.
final class MultiDriver: @unchecked Sendable {
  private struct Queues {
    var adds: [Transfer] = []
    var cancels: [Transfer] = []
    var shuttingDown = false
  }

  private let queues = Mutex(Queues())
  private let multi: UnsafeMutableRawPointer
  private let exited = DispatchGroup()
  /// Transfers inside the multi handle, by easy handle. Multi thread only.
  private var inFlight: [UnsafeMutableRawPointer: Transfer] = [:]

  init(maxConnectionsPerHost: Int, maxTotalConnections: Int) {
    Self.globalInit
    guard let multi = curl_multi_init() else {
      fatalError("libcurl could not create a multi handle (out of memory)")
    }
    self.multi = multi
    fs_multi_setopt_long(multi, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX))
    fs_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, max(0, maxConnectionsPerHost))
    fs_multi_setopt_long(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, max(0, maxTotalConnections))
    fs_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, max(1, maxTotalConnections))
    exited.enter()
    var thread = pthread_t()
    let context = Unmanaged.passRetained(self).toOpaque()
    let created = pthread_create(
      &thread, nil,
      { context in
        let driver = Unmanaged<MultiDriver>.fromOpaque(context!).takeRetainedValue()
        driver.run()
        return nil
      }, context)
    if created == 0 {
      pthread_detach(thread)
    } else {
      // No thread: behave as shut down, every fetch fails at once.
      Unmanaged<MultiDriver>.fromOpaque(context).release()
      queues.withLock { $0.shuttingDown = true }
      curl_multi_cleanup(multi)
      exited.leave()
    }
  }

  /// `curl_global_init` once per process, before the first handle.
  private static let globalInit: Void = {
    curl_global_init(Int(CURL_GLOBAL_DEFAULT))
  }()

  /// Hands a transfer to the multi thread; false after shutdown (the transfer was not taken).
  func submit(_ transfer: Transfer) -> Bool {
    queues.withLock { q in
      guard !q.shuttingDown else { return false }
      q.adds.append(transfer)
      // Under the lock: the thread cleans up the multi handle only after it saw
      // `shuttingDown` under this lock, so the handle is alive here.
      curl_multi_wakeup(multi)
      return true
    }
  }

  /// Asks the multi thread to end a transfer with `.cancelled`; harmless when it already
  /// ended.
  func cancel(_ transfer: Transfer) {
    queues.withLock { q in
      transfer.cancelRequested = true
      guard !q.shuttingDown else { return }
      q.cancels.append(transfer)
      curl_multi_wakeup(multi)
    }
  }

  /// Ends every transfer with `.cancelled`, stops the thread and frees the multi handle.
  /// Returns once the thread has exited.
  func shutdown() {
    queues.withLock { q in
      if !q.shuttingDown {
        q.shuttingDown = true
        curl_multi_wakeup(multi)
      }
    }
    exited.wait()
  }

  private func run() {
    while step() {
      curl_multi_poll(multi, nil, 0, 1000, nil)
    }
    for (handle, transfer) in inFlight {
      curl_multi_remove_handle(multi, handle)
      finish(transfer, .failure(.cancelled, "fetcher shut down"))
    }
    inFlight.removeAll()
    curl_multi_cleanup(multi)
    exited.leave()
  }

  /// One turn of the loop, short of waiting: queued adds and cancels, then
  /// `curl_multi_perform` and the finished transfers. False once shutting down. A function
  /// of its own so that its batches are released before the thread sleeps in poll (they
  /// hold transfers, and so bodies).
  private func step() -> Bool {
    let (adds, cancels, stopping) = queues.withLock { q in
      let batch = (q.adds.map { ($0, $0.cancelRequested) }, q.cancels, q.shuttingDown)
      q.adds.removeAll()
      q.cancels.removeAll()
      return batch
    }
    if stopping {
      for (transfer, _) in adds { finish(transfer, .failure(.cancelled, "fetcher shut down")) }
      return false
    }
    for (transfer, cancelled) in adds {
      guard !cancelled, let handle = transfer.handle else {
        finish(transfer, .failure(.cancelled, "cancelled"))
        continue
      }
      let code = curl_multi_add_handle(multi, handle)
      if code == CURLM_OK {
        inFlight[handle] = transfer
      } else {
        finish(transfer, .failure(.other, String(cString: curl_multi_strerror(code))))
      }
    }
    for transfer in cancels {
      guard let handle = transfer.handle, inFlight[handle] === transfer else { continue }
      remove(handle)
      finish(transfer, .failure(.cancelled, "cancelled"))
    }
    var running: Int32 = 0
    curl_multi_perform(multi, &running)
    collectFinished()
    return true
  }

  private func remove(_ handle: UnsafeMutableRawPointer) {
    curl_multi_remove_handle(multi, handle)
    inFlight[handle] = nil
  }

  /// Frees the transfer's libcurl resources, then resumes its fetch.
  private func finish(_ transfer: Transfer, _ outcome: HopOutcome) {
    transfer.release()
    transfer.complete(outcome)
  }

  private func collectFinished() {
    var left: Int32 = 0
    while let message = curl_multi_info_read(multi, &left) {
      guard message.pointee.msg == CURLMSG_DONE, let handle = message.pointee.easy_handle,
        let transfer = inFlight[handle]
      else { continue }
      let code = fs_msg_result(message)
      let outcome = Self.outcome(of: transfer, handle: handle, code: code)
      // `message` is invalid after remove_handle: everything needed was read above.
      remove(handle)
      finish(transfer, outcome)
    }
  }

  private static func outcome(
    of transfer: Transfer, handle: UnsafeMutableRawPointer, code: CURLcode
  )
    -> HopOutcome
  {
    guard code == CURLE_OK else {
      if let why = transfer.decodeFailure, code == CURLE_WRITE_ERROR {
        return .failure(.protocolError, why)
      }
      if transfer.wireTooLarge, code == CURLE_ABORTED_BY_CALLBACK {
        return .failure(
          .tooLarge,
          "more than \(transfer.maxWireBytes) bytes received for one response (framing that is"
            + " neither header nor body)")
      }
      if transfer.headersTooLarge, code == CURLE_WRITE_ERROR {
        return .failure(
          .protocolError, "header and trailer lines larger than \(Transfer.maxHeaderBytes) bytes")
      }
      let kind = FetchFailure.Kind(
        code: code, bodyTooLarge: transfer.bodyTooLarge, blocked: transfer.blocked != nil)
      let message: String
      switch kind {
      case .blockedAddress: message = transfer.blocked ?? "blocked address"
      case .tooLarge: message = "body larger than \(transfer.maxBodyBytes) bytes"
      default:
        let detail = transfer.errorMessage
        message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
      }
      return .failure(kind, message)
    }
    var status = 0
    fs_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
    var redirect: UnsafeMutablePointer<CChar>?
    fs_easy_getinfo_string(handle, CURLINFO_REDIRECT_URL, &redirect)
    let body = transfer.body
    transfer.body = []
    return .response(
      status: status, headers: transfer.headers, body: body,
      redirectURL: redirect.map { String(cString: $0) })
  }
}
