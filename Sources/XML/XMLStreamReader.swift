import CLibXML2

/// Streams an XML document with libxml2's xmlTextReader: the caller walks the
/// elements in document order and expands only the subtrees it wants (one feed item
/// at a time), which the reader frees once it moves past them. Memory stays bounded
/// by the largest expanded subtree, not the document.
///
/// Same safety options as `XMLDocument.parseXML` (NONET, no entity substitution, no
/// DTD loading, the refusing entity loader). Without RECOVER: a reader stops at the
/// first fatal error, and `hadError` tells the caller to fall back to the recovering
/// DOM parser.
public final class XMLStreamReader {
  // Not Sendable: a reader is used by one thread from creation to end.
  let reader: xmlTextReaderPtr
  let buffer: UnsafeMutableBufferPointer<CChar>
  let errors = ErrorSink()
  /// Bytes the encoding cannot convert were replaced: the document is not well-formed.
  let replaced: Bool
  var view: XMLDocument?

  final class ErrorSink {
    var count = 0
    var first: String?
  }

  public init(_ bytes: [UInt8], url: String? = nil, encoding: String? = nil) throws(XMLError) {
    LibXML.setUp()
    let input = LibXML.decode(bytes, encoding: encoding, xml: true)
    let markup = try LibXML.refuseOversized(input.bytes, streamed: true)
    if markup.longestConstruct > LibXML.longConstruct { throw .longConstruct }
    // libxml2 reads the memory in place: give it a copy that lives as long as we do.
    let buf = UnsafeMutableBufferPointer<CChar>.allocate(capacity: max(input.bytes.count, 1))
    input.bytes.withUnsafeBufferPointer { src in
      _ = buf.withMemoryRebound(to: UInt8.self) { dst in dst.initialize(from: src) }
    }
    buffer = buf
    // A given encoding wins over the document's declaration (IGNORE_ENC), as it does
    // for xmlCtxtReadMemory.
    let options = Int32(
      XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue
        | XML_PARSE_NOCDATA.rawValue | (input.encoding != nil ? XML_PARSE_IGNORE_ENC.rawValue : 0))
    guard
      let r = xmlReaderForMemory(
        buf.baseAddress, Int32(clamping: input.bytes.count), url, input.encoding, options)
    else {
      buf.deallocate()
      throw XMLError.outOfMemory
    }
    reader = r
    replaced = !input.clean
    xmlTextReaderSetStructuredErrorHandler(
      r,
      { ctx, error in
        guard let ctx, let error else { return }
        let sink = Unmanaged<ErrorSink>.fromOpaque(ctx).takeUnretainedValue()
        guard error.pointee.level.rawValue >= XML_ERR_ERROR.rawValue else { return }
        sink.count += 1
        if sink.first == nil, let m = error.pointee.message { sink.first = String(cString: m) }
      }, Unmanaged.passUnretained(errors).toOpaque())
  }

  deinit {
    xmlFreeTextReader(reader)
    buffer.deallocate()
  }

  /// Errors (not warnings) seen so far: the document is not well-formed.
  public var hadError: Bool { errors.count > 0 || failed || replaced }
  public var firstError: String? {
    errors.first ?? (replaced ? LibXML.conversionError : nil)
      ?? (failed ? "the reader stopped at an error" : nil)
  }
  /// A read or skip returned -1. Not every fault reaches the error handler (a byte the
  /// declared encoding cannot convert, in an end tag after the last item, did not).
  private var failed = false

  /// Advances to the next node. False at the end or on a fatal error.
  public func read() -> Bool { step(xmlTextReaderRead(reader)) }

  /// Skips the current node's subtree. False at the end or on a fatal error.
  public func next() -> Bool { step(xmlTextReaderNext(reader)) }

  private func step(_ result: Int32) -> Bool {
    if result < 0 { failed = true }
    return result == 1
  }

  /// Depth of the current node (the root element is 0).
  public var depth: Int { Int(xmlTextReaderDepth(reader)) }

  /// True on an element's start tag.
  public var isElement: Bool { xmlTextReaderNodeType(reader) == 1 }

  public var localName: String {
    guard let n = xmlTextReaderConstLocalName(reader) else { return "" }
    return String(cString: n)
  }

  public var namespaceURI: String? {
    guard let n = xmlTextReaderConstNamespaceUri(reader) else { return nil }
    return String(cString: n)
  }

  /// An attribute of the current element with no namespace, read as `XMLNode.attribute`
  /// reads it (`xmlTextReaderGetAttribute` expands entity references without a budget).
  public func attribute(_ name: String) -> String? {
    guard let n = xmlTextReaderCurrentNode(reader), n.pointee.type == XML_ELEMENT_NODE,
      let d = n.pointee.doc
    else { return nil }
    return XMLNode(n, document(d)).attribute(name)
  }

  /// The view of the reader's document (it owns and frees it).
  private func document(_ d: xmlDocPtr) -> XMLDocument {
    if let view, view.doc == d { return view }
    let v = XMLDocument(doc: d, wellFormed: true, firstError: nil, owned: false)
    view = v
    return v
  }

  /// The current element with its whole subtree, valid until the reader moves past it.
  public func expand() -> XMLNode? {
    guard let n = xmlTextReaderExpand(reader), let d = n.pointee.doc else { return nil }
    return XMLNode(n, document(d))
  }
}
