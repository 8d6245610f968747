import CCurl

extension FetchFailure.Kind {
  /// The kind of a failed transfer. The transfer's own flags come first: a write error we
  /// caused by refusing bytes is `.tooLarge`, a connect error after the SSRF guard refused
  /// every address is `.blockedAddress`.
  init(code: CURLcode, bodyTooLarge: Bool, blocked: Bool) {
    if bodyTooLarge && (code == CURLE_WRITE_ERROR || code == CURLE_FILESIZE_EXCEEDED) {
      self = .tooLarge
      return
    }
    if blocked && (code == CURLE_COULDNT_CONNECT || code == CURLE_ABORTED_BY_CALLBACK) {
      self = .blockedAddress
      return
    }
    switch code {
    case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
      self = .dns
    case CURLE_COULDNT_CONNECT, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_INTERFACE_FAILED:
      self = .connect
    case CURLE_OPERATION_TIMEDOUT:
      self = .timeout
    case CURLE_FILESIZE_EXCEEDED:
      self = .tooLarge
    case CURLE_TOO_MANY_REDIRECTS:
      self = .tooManyRedirects
    case CURLE_UNSUPPORTED_PROTOCOL:
      self = .forbiddenScheme
    case CURLE_URL_MALFORMAT:
      self = .invalidURL
    case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
      CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_USE_SSL_FAILED, CURLE_SSL_ENGINE_NOTFOUND,
      CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_SHUTDOWN_FAILED,
      CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
      CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT:
      self = .tls
    case CURLE_WEIRD_SERVER_REPLY, CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_PARTIAL_FILE,
      CURLE_GOT_NOTHING, CURLE_BAD_CONTENT_ENCODING, CURLE_HTTP3, CURLE_QUIC_CONNECT_ERROR,
      CURLE_RANGE_ERROR:
      self = .protocolError
    default:
      self = .other
    }
  }
}
