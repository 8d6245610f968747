import CDecompress

/// Undoes a response's Content-Encoding as the body arrives (libcurl's own decoding is
/// off: it refuses a second gzip member and anything after the first, losing the feed).
///
/// - `gzip`/`x-gzip`: every member of a multi-member body (RFC 1952 §2.2), in order.
///   Bytes after a complete member that start no valid member (padding, garbage) are
///   ignored: what decoded cleanly is the body.
/// - `deflate`: zlib-wrapped or raw (servers send both), `br`, `zstd` (all frames).
/// - `identity`, `none`: nothing to undo. Several codings are undone last first.
///
/// Nothing here limits sizes: every decoded byte goes through the sink, which counts it
/// against the body cap and refuses past it (the gzip-bomb defence).
final class ContentDecoder {
  enum Failure: Error {
    /// The sink refused bytes (the body cap).
    case refused
    /// The encoding is unknown or its data broken.
    case invalid(String)
  }

  private let stages: [any DecodingStage]

  /// Codings one response may stack (libcurl 7.88 refuses more than 5 as well, but this
  /// does not rely on it). Servers send one, now and then two; a header of thousands
  /// (`gzip, gzip, ...`: 20,000 fit in one header line) would take a 64 KiB buffer and a
  /// zlib stream each, and recurse once per coding for every chunk.
  static let maxStages = 5

  /// nil when the header names no coding to undo; throws for a coding not known here.
  static func make(contentEncoding: String?) throws(Failure) -> ContentDecoder? {
    guard let contentEncoding else { return nil }
    var stages: [any DecodingStage] = []
    for raw in contentEncoding.split(separator: ",").reversed() {
      let name = raw.trimmingASCIIWhitespace().lowercased()
      switch name {
      case "", "identity", "none": continue
      case "gzip", "x-gzip": stages.append(ZlibStage(gzip: true))
      case "deflate": stages.append(ZlibStage(gzip: false))
      case "br": stages.append(BrotliStage())
      case "zstd": stages.append(ZstdStage())
      default: throw .invalid("unsupported Content-Encoding \"\(name)\"")
      }
      if stages.count > maxStages { throw .invalid("more than \(maxStages) Content-Encodings") }
    }
    return stages.isEmpty ? nil : ContentDecoder(stages: stages)
  }

  private init(stages: [any DecodingStage]) { self.stages = stages }

  /// Decodes `input`, handing every decoded chunk to `sink` (false: stop, `.refused`).
  func decode(
    _ input: UnsafeRawBufferPointer, sink: (UnsafeRawBufferPointer) -> Bool
  ) throws(Failure) {
    try feed(input, stage: 0, sink: sink)
  }

  private func feed(
    _ input: UnsafeRawBufferPointer, stage: Int, sink: (UnsafeRawBufferPointer) -> Bool
  ) throws(Failure) {
    if stage == stages.count {
      if !sink(input) { throw .refused }
      return
    }
    var failure: Failure?
    try stages[stage].decode(input) { chunk in
      do throws(Failure) {
        try feed(chunk, stage: stage + 1, sink: sink)
        return true
      } catch {
        failure = error
        return false
      }
    }
    if let failure { throw failure }
  }
}

/// One coding. `emit` returning false stops it (the error is the caller's to report).
protocol DecodingStage: AnyObject {
  func decode(
    _ input: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) -> Bool
  ) throws(ContentDecoder.Failure)
}

private let chunkSize = 64 * 1024

/// gzip (all members) and deflate (zlib-wrapped or raw) through zlib.
final class ZlibStage: DecodingStage {
  private let gzip: Bool
  private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
  private let out = UnsafeMutablePointer<UInt8>.allocate(capacity: chunkSize)
  private var started = false
  /// A complete stream (gzip: member) was read.
  private var completed = false
  /// Everything from here on is ignored: after deflate's end, or garbage after a member.
  private var finished = false
  /// deflate: the first byte, kept until the second tells zlib-wrapped from raw.
  private var pending: [UInt8] = []

  init(gzip: Bool) {
    self.gzip = gzip
    stream.initialize(to: z_stream())
  }

  deinit {
    if started { inflateEnd(stream) }
    stream.deinitialize(count: 1)
    stream.deallocate()
    out.deallocate()
  }

  private func start(windowBits: Int32) throws(ContentDecoder.Failure) {
    guard fs_inflate_init(stream, windowBits) == Z_OK else { throw .invalid("zlib init failed") }
    started = true
  }

  func decode(
    _ input: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) -> Bool
  ) throws(ContentDecoder.Failure) {
    if finished || input.isEmpty { return }
    if !started {
      if gzip {
        try start(windowBits: 15 + 32)  // gzip, or zlib-wrapped as curl accepts
      } else {
        // RFC 9110 deflate is zlib-wrapped; raw deflate is common. The zlib header's
        // first two bytes tell them apart (method 8, check bits).
        if pending.isEmpty && input.count == 1 {
          pending = [input[0]]
          return
        }
        let b0 = pending.first ?? input[0]
        let b1 = pending.isEmpty ? input[1] : input[0]
        let wrapped = b0 & 0x0F == 8 && (UInt16(b0) << 8 | UInt16(b1)) % 31 == 0
        try start(windowBits: wrapped ? 15 : -15)
        if !pending.isEmpty {
          let first = pending
          pending = []
          var failure: ContentDecoder.Failure?
          first.withUnsafeBytes { p in
            do throws(ContentDecoder.Failure) { try inflate(p, emit) } catch { failure = error }
          }
          if let failure { throw failure }
          if finished { return }
        }
      }
    }
    try inflate(input, emit)
  }

  private func inflate(
    _ input: UnsafeRawBufferPointer, _ emit: (UnsafeRawBufferPointer) -> Bool
  ) throws(ContentDecoder.Failure) {
    guard let base = input.baseAddress else { return }
    stream.pointee.next_in = UnsafeMutablePointer(
      mutating: base.assumingMemoryBound(to: Bytef.self))
    stream.pointee.avail_in = uInt(input.count)
    defer {
      stream.pointee.next_in = nil
      stream.pointee.avail_in = 0
    }
    while true {
      stream.pointee.next_out = out
      stream.pointee.avail_out = uInt(chunkSize)
      let ret = CDecompress.inflate(stream, Z_NO_FLUSH)
      let produced = chunkSize - Int(stream.pointee.avail_out)
      if produced > 0, !emit(UnsafeRawBufferPointer(start: out, count: produced)) {
        throw .refused
      }
      switch ret {
      case Z_STREAM_END:
        completed = true
        if !gzip {
          finished = true
          return
        }
        // Another member may follow (RFC 1952 2.2): start over on the next byte.
        guard inflateReset(stream) == Z_OK else { throw .invalid("zlib reset failed") }
        if stream.pointee.avail_in == 0 { return }
      case Z_OK:
        if stream.pointee.avail_in == 0 && stream.pointee.avail_out != 0 { return }
      case Z_BUF_ERROR:
        return  // needs more input
      default:
        if completed {
          // Not the start of another member: trailing bytes, ignored.
          finished = true
          return
        }
        let detail = stream.pointee.msg.map { String(cString: $0) } ?? "error \(ret)"
        throw .invalid("\(gzip ? "gzip" : "deflate") data invalid: \(detail)")
      }
    }
  }
}

/// br through the brotli decoder; bytes after the end of the stream are ignored.
final class BrotliStage: DecodingStage {
  private let state: OpaquePointer
  private let out = UnsafeMutablePointer<UInt8>.allocate(capacity: chunkSize)
  private var finished = false

  init() {
    state = BrotliDecoderCreateInstance(nil, nil, nil)
  }

  deinit {
    BrotliDecoderDestroyInstance(state)
    out.deallocate()
  }

  func decode(
    _ input: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) -> Bool
  ) throws(ContentDecoder.Failure) {
    guard !finished, let base = input.baseAddress else { return }
    var nextIn: UnsafePointer<UInt8>? = base.assumingMemoryBound(to: UInt8.self)
    var availIn = input.count
    while true {
      var nextOut: UnsafeMutablePointer<UInt8>? = out
      var availOut = chunkSize
      let result = BrotliDecoderDecompressStream(
        state, &availIn, &nextIn, &availOut, &nextOut, nil)
      let produced = chunkSize - availOut
      if produced > 0, !emit(UnsafeRawBufferPointer(start: out, count: produced)) {
        throw .refused
      }
      switch result {
      case BROTLI_DECODER_RESULT_SUCCESS:
        finished = true
        return
      case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT: continue
      case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT: return
      default:
        let code = BrotliDecoderGetErrorCode(state)
        throw .invalid("br data invalid: \(String(cString: BrotliDecoderErrorString(code)))")
      }
    }
  }
}

/// zstd through libzstd, frame after frame; bytes after a complete frame that start no
/// valid frame are ignored.
final class ZstdStage: DecodingStage {
  private let stream: OpaquePointer
  private let out = UnsafeMutablePointer<UInt8>.allocate(capacity: chunkSize)
  private var completed = false
  private var finished = false

  /// RFC 9659: a `zstd` content coding uses a window of at most 8 MB, and a decoder may
  /// refuse more. zstd's own default limit is 128 MB, one allocation a hostile frame
  /// header could ask for.
  static let maxWindowLog: Int32 = 23

  init() {
    stream = ZSTD_createDStream()
    _ = ZSTD_DCtx_setParameter(stream, ZSTD_d_windowLogMax, Self.maxWindowLog)
  }

  deinit {
    ZSTD_freeDStream(stream)
    out.deallocate()
  }

  func decode(
    _ input: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) -> Bool
  ) throws(ContentDecoder.Failure) {
    guard !finished, let base = input.baseAddress else { return }
    var inBuffer = ZSTD_inBuffer(src: base, size: input.count, pos: 0)
    while true {
      var outBuffer = ZSTD_outBuffer(dst: out, size: chunkSize, pos: 0)
      let ret = ZSTD_decompressStream(stream, &outBuffer, &inBuffer)
      if ZSTD_isError(ret) != 0 {
        if completed {
          finished = true
          return
        }
        throw .invalid("zstd data invalid: \(String(cString: ZSTD_getErrorName(ret)))")
      }
      if outBuffer.pos > 0, !emit(UnsafeRawBufferPointer(start: out, count: outBuffer.pos)) {
        throw .refused
      }
      if ret == 0 { completed = true }
      if inBuffer.pos == inBuffer.size && outBuffer.pos < outBuffer.size { return }
    }
  }
}
