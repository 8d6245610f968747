import CLibXML2

#if canImport(Glibc)
  import Glibc
#endif

/// A node of an `XMLDocument`. Keeps its document alive; never exposes a C type.
public struct XMLNode: @unchecked Sendable {
  // @unchecked: read-only view of an immutable tree owned by `document`.
  let ptr: xmlNodePtr
  public let document: XMLDocument

  init(_ ptr: xmlNodePtr, _ document: XMLDocument) {
    self.ptr = ptr
    self.document = document
  }

  public enum Kind: Sendable { case element, text, cdata, comment, entityReference, other }

  public var kind: Kind {
    switch ptr.pointee.type {
    case XML_ELEMENT_NODE: return .element
    case XML_TEXT_NODE: return .text
    case XML_CDATA_SECTION_NODE: return .cdata
    case XML_COMMENT_NODE: return .comment
    case XML_ENTITY_REF_NODE: return .entityReference
    default: return .other
    }
  }

  public var isElement: Bool { ptr.pointee.type == XML_ELEMENT_NODE }

  /// Local name (HTML: lower-cased by the parser).
  public var name: String {
    guard let n = ptr.pointee.name else { return "" }
    return String(cString: n)
  }

  /// Namespace URI of an element, if any.
  public var namespaceURI: String? {
    guard let ns = ptr.pointee.ns, let href = ns.pointee.href else { return nil }
    return String(cString: href)
  }

  /// Identifies the namespace declaration this element uses (equal for elements
  /// bound by the same declaration), nil when it has no namespace. A cache key.
  public var namespaceIdentity: Int? {
    guard let ns = ptr.pointee.ns else { return nil }
    return Int(bitPattern: ns)
  }

  /// The local name's address in the parser's dictionary, when it is interned there: equal
  /// for equal names and never reused while the document lives, so a cache key that saves
  /// building a String per element. nil when the name is not interned (its address could
  /// then be reused by another name after the node is freed).
  public var internedNameKey: Int? {
    guard let n = ptr.pointee.name, let doc = ptr.pointee.doc, let dict = doc.pointee.dict,
      xmlDictOwns(dict, n) == 1
    else { return nil }
    return Int(bitPattern: n)
  }

  /// Whether the element's namespace URI is exactly `uri` (bytes compared; false when it has
  /// no namespace).
  public func namespaceURIIs(_ uri: [UInt8]) -> Bool {
    guard let ns = ptr.pointee.ns, let href = ns.pointee.href else { return false }
    return uri.withUnsafeBufferPointer { Self.equals(href, $0) }
  }

  /// Namespace prefix as written, if any.
  public var prefix: String? {
    guard let ns = ptr.pointee.ns, let p = ns.pointee.prefix else { return nil }
    return String(cString: p)
  }

  /// 1-based source line, when known.
  public var line: Int { Int(xmlGetLineNo(ptr)) }

  public var parent: XMLNode? {
    guard let p = ptr.pointee.parent, p.pointee.type == XML_ELEMENT_NODE else { return nil }
    return XMLNode(p, document)
  }

  /// All child nodes, in document order.
  public var children: [XMLNode] {
    var out: [XMLNode] = []
    var c = ptr.pointee.children
    while let n = c {
      out.append(XMLNode(n, document))
      c = n.pointee.next
    }
    return out
  }

  /// Child elements only.
  public var elements: [XMLNode] {
    var out: [XMLNode] = []
    var c = ptr.pointee.children
    while let n = c {
      if n.pointee.type == XML_ELEMENT_NODE { out.append(XMLNode(n, document)) }
      c = n.pointee.next
    }
    return out
  }

  /// Whether any child is an element (cheaper than `elements.isEmpty`).
  public var hasElementChildren: Bool {
    var c = ptr.pointee.children
    while let n = c {
      if n.pointee.type == XML_ELEMENT_NODE { return true }
      c = n.pointee.next
    }
    return false
  }

  /// Calls `body` for each child element without building an array.
  public func forEachElement(_ body: (XMLNode) throws -> Void) rethrows {
    var c = ptr.pointee.children
    while let n = c {
      if n.pointee.type == XML_ELEMENT_NODE { try body(XMLNode(n, document)) }
      c = n.pointee.next
    }
  }

  /// Calls `body` for each child node, in document order, without building an array.
  public func forEachChild(_ body: (XMLNode) throws -> Void) rethrows {
    var c = ptr.pointee.children
    while let n = c {
      try body(XMLNode(n, document))
      c = n.pointee.next
    }
  }

  /// The raw content of a text, CDATA or comment node, read in place (libxml2's bytes,
  /// UTF-8; empty when there is none).
  public func withContentBytes<R>(
    _ body: (UnsafeBufferPointer<UInt8>) throws -> R
  ) rethrows -> R {
    guard let c = ptr.pointee.content else {
      return try body(UnsafeBufferPointer(start: nil, count: 0))
    }
    let count = strlen(UnsafeRawPointer(c).assumingMemoryBound(to: CChar.self))
    return try body(UnsafeBufferPointer(start: c, count: count))
  }

  /// Raw content of a text, CDATA or comment node.
  public var content: String {
    guard let c = ptr.pointee.content else { return "" }
    return String(cString: c)
  }

  /// Attribute by local name (no namespace), or in namespace `ns` when given. Entity
  /// references in the value are expanded within the same budget as `text`
  /// (`xmlGetProp` expands them without one: a 60 KB entity referenced 3,000 times in an
  /// attribute took 45 s and 535 MB).
  public func attribute(_ name: String, namespace ns: String? = nil) -> String? {
    if ns == nil, let found = plainAttribute(name) { return found }
    if let attr = attributeNode(name, namespace: ns) {
      return XMLNode.budgetedText(attr.pointee.children, document)
    }
    // Not on the element: a default its DTD declares (a string of the DTD, not expanded).
    let v: UnsafeMutablePointer<xmlChar>?
    if let ns {
      v = xmlGetNsProp(ptr, name, ns)
    } else {
      v = xmlGetNoNsProp(ptr, name)
    }
    guard let v else { return nil }
    defer { fs_xml_free(v) }
    return String(cString: v)
  }

  /// The element's attribute node with this local name and namespace URI (none: no
  /// namespace), if present.
  func attributeNode(_ name: String, namespace ns: String?) -> xmlAttrPtr? {
    var name = name
    return name.withUTF8 { want -> xmlAttrPtr? in
      var a = ptr.pointee.properties
      while let attr = a {
        if let n = attr.pointee.name, Self.equals(n, want) {
          if let ns {
            if let href = attr.pointee.ns?.pointee.href, String(cString: href) == ns { return attr }
          } else if attr.pointee.ns == nil {
            return attr
          }
        }
        a = attr.pointee.next
      }
      return nil
    }
  }

  /// A no-namespace attribute read in place (no copy through libxml2's allocator): nil when
  /// this walk cannot answer (a value made of several nodes, or absent while a DTD might
  /// supply a default), `.some(nil)` when it is certainly absent.
  func plainAttribute(_ name: String) -> String?? {
    var name = name
    return name.withUTF8 { want -> String?? in
      var a = ptr.pointee.properties
      while let attr = a {
        if attr.pointee.ns == nil, let n = attr.pointee.name, Self.equals(n, want) {
          guard let t = attr.pointee.children else { return .some("") }
          guard t.pointee.next == nil, t.pointee.type == XML_TEXT_NODE, let c = t.pointee.content
          else { return nil }
          return .some(String(cString: c))
        }
        a = attr.pointee.next
      }
      return ptr.pointee.doc?.pointee.intSubset == nil ? .some(nil) : nil
    }
  }

  /// A NUL-terminated C string equals these bytes.
  static func equals(_ c: UnsafePointer<xmlChar>, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    var i = 0
    while i < bytes.count {
      if c[i] != bytes[i] { return false }
      i += 1
    }
    return c[bytes.count] == 0
  }

  /// Whether the element has any attribute (cheaper than `attributes.isEmpty`).
  public var hasAttributes: Bool { ptr.pointee.properties != nil }

  /// Every attribute: local name, namespace URI (nil if none), value.
  public var attributes: [(name: String, namespace: String?, value: String)] {
    var out: [(String, String?, String)] = []
    var a = ptr.pointee.properties
    while let attr = a {
      let name = attr.pointee.name.map { String(cString: $0) } ?? ""
      let ns = attr.pointee.ns?.pointee.href.map { String(cString: $0) }
      out.append((name, ns, XMLNode.budgetedText(attr.pointee.children, document)))
      a = attr.pointee.next
    }
    return out
  }

  /// Concatenated text of every descendant text and CDATA node. Walks the tree
  /// itself: `xmlNodeGetContent` would expand entity references without limit.
  /// References to internal entities are expanded to a bounded depth, and within a
  /// budget per call and per document (quadratic-blowup documents stay bounded).
  public var text: String { XMLNode.budgetedText(ptr.pointee.children, document) }

  /// The text of `first` and its siblings (and their descendants), entity references
  /// expanded within `entityBudget` and what is left of the document's budget.
  static func budgetedText(_ first: xmlNodePtr?, _ document: XMLDocument) -> String {
    var out = ""
    let start = document.entityBudgetLeft ? XMLNode.entityBudget : 0
    var budget = start
    XMLNode.collectText(first, into: &out, depth: 0, budget: &budget)
    let used = start - max(budget, 0)
    if used > 0 { document.spendEntityBudget(used) }
    return out
  }

  static let entityBudget = 1 << 20

  /// When the element's content is exactly one text or CDATA node: `body` over its bytes
  /// in place (valid UTF-8, libxml2's internal form), without building a String first.
  /// nil otherwise (no content, several nodes, entity references, child elements).
  public func withSingleTextContent<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R? {
    guard let t = ptr.pointee.children, t.pointee.next == nil,
      t.pointee.type == XML_TEXT_NODE || t.pointee.type == XML_CDATA_SECTION_NODE,
      let c = t.pointee.content
    else { return nil }
    return body(
      UnsafeBufferPointer(
        start: c, count: strlen(UnsafeRawPointer(c).assumingMemoryBound(to: CChar.self))))
  }

  /// What one node inside an entity's replacement costs the budget besides its text:
  /// an entity made of thousands of empty elements, referenced thousands of times, is
  /// bounded by its size, not only by its text.
  static let nodeCost = 16

  static func collectText(
    _ first: xmlNodePtr?, into out: inout String, depth: Int, budget: inout Int
  ) {
    var c = first
    while let n = c {
      if depth > 0 {
        guard budget >= nodeCost else {
          budget = -1
          return
        }
        budget -= nodeCost
      }
      switch n.pointee.type {
      case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
        if let s = n.pointee.content {
          let piece = String(cString: s)
          if depth > 0 {
            guard budget >= piece.utf8.count else {
              budget = -1
              return
            }
            budget -= piece.utf8.count
          }
          out += piece
        }
      case XML_ELEMENT_NODE:
        collectText(n.pointee.children, into: &out, depth: depth, budget: &budget)
      case XML_ENTITY_REF_NODE:
        // libxml2 links a reference to its declaration (an XML_ENTITY_DECL), whose own
        // children are the parsed replacement text. Only that declaration: its siblings
        // are the DTD's other declarations (walking them read every entity declared
        // after this one, and made a 2 KB document take minutes).
        if depth < 4, budget > 0, let decl = n.pointee.children,
          decl.pointee.type == XML_ENTITY_DECL
        {
          let ent = UnsafeMutableRawPointer(decl).assumingMemoryBound(to: xmlEntity.self)
          if ent.pointee.children != nil {
            collectText(ent.pointee.children, into: &out, depth: depth + 1, budget: &budget)
          } else if let content = ent.pointee.content,
            ent.pointee.etype == XML_INTERNAL_GENERAL_ENTITY
          {
            let piece = String(cString: content)
            guard budget >= piece.utf8.count else {
              budget = -1
              return
            }
            budget -= piece.utf8.count
            out += piece
          }
        }
      default: break
      }
      c = n.pointee.next
    }
  }

  /// The node serialized as markup (XML, or HTML in an HTML document).
  public var outerMarkup: String { XMLNode.dump(ptr, document) }

  /// The children serialized as markup, concatenated.
  public var innerMarkup: String {
    var out = ""
    var c = ptr.pointee.children
    while let n = c {
      out += XMLNode.dump(n, document)
      c = n.pointee.next
    }
    return out
  }

  static func dump(_ node: xmlNodePtr, _ document: XMLDocument) -> String {
    guard let buf = xmlBufferCreate() else { return "" }
    defer { xmlBufferFree(buf) }
    if document.isHTML {
      htmlNodeDump(buf, document.doc, node)
    } else {
      xmlNodeDump(buf, document.doc, node, 0, 0)
    }
    guard let content = xmlBufferContent(buf) else { return "" }
    return String(cString: content)
  }

  /// The base URI in effect at this node (document URL combined with `xml:base`
  /// on this node and its ancestors, or an HTML `<base href>`).
  public var baseURL: String? {
    if document.doc.pointee.type == XML_HTML_DOCUMENT_NODE {
      guard let b = xmlNodeGetBase(document.doc, ptr) else { return nil }
      defer { fs_xml_free(b) }
      return String(cString: b)
    }
    // XML: `xmlNodeGetBase`'s walk, with `xml:base` read by `attribute` (libxml2 reads it
    // with `xmlGetNsProp`, which expands entity references without a budget).
    var base: String?
    var cur: xmlNodePtr? = ptr
    while let c = cur {
      if c.pointee.type == XML_ENTITY_DECL {
        let ent = UnsafeMutableRawPointer(c).assumingMemoryBound(to: xmlEntity.self)
        return ent.pointee.URI.map { String(cString: $0) }
      }
      if c.pointee.type == XML_ELEMENT_NODE,
        let value = XMLNode(c, document).attribute("base", namespace: XMLNode.xmlNamespace),
        value.utf8.count <= XMLNode.maxBaseBytes
      {
        if let inner = base {
          guard let resolved = XMLNode.buildURI(inner, against: value) else { return nil }
          base = resolved
        } else {
          base = value
        }
        if let b = base, b.hasPrefix("http://") || b.hasPrefix("ftp://") || b.hasPrefix("urn:") {
          return b
        }
      }
      cur = c.pointee.parent
    }
    guard let url = document.doc.pointee.URL else { return base }
    let documentURL = String(cString: url)
    guard let inner = base else { return documentURL }
    return XMLNode.buildURI(inner, against: documentURL)
  }

  static let xmlNamespace = "http://www.w3.org/XML/1998/namespace"

  /// An `xml:base` longer than this is ignored: every relative URL below it is resolved
  /// against it (a 1 MB base and 100 relative links took 16.5 s and made 100 MB of URLs).
  public static let maxBaseBytes = 8 << 10

  /// libxml2's `xmlBuildURI`: `uri` resolved against `base`.
  static func buildURI(_ uri: String, against base: String) -> String? {
    guard let r = xmlBuildURI(uri, base) else { return nil }
    defer { fs_xml_free(r) }
    return String(cString: r)
  }

  /// First child element with this local name (and namespace, when given).
  public func firstElement(_ name: String, namespace ns: String? = nil) -> XMLNode? {
    var c = ptr.pointee.children
    while let n = c {
      if n.pointee.type == XML_ELEMENT_NODE {
        let node = XMLNode(n, document)
        if node.name == name && (ns == nil || node.namespaceURI == ns) { return node }
      }
      c = n.pointee.next
    }
    return nil
  }

  /// Depth-first walk over this node's descendant elements (not the node itself).
  /// Return false from `visit` to skip an element's subtree.
  public func walkElements(_ visit: (XMLNode) -> Bool) {
    var stack: [xmlNodePtr] = []
    var c = ptr.pointee.children
    while true {
      while let n = c {
        if n.pointee.type == XML_ELEMENT_NODE {
          if visit(XMLNode(n, document)), let first = n.pointee.children {
            if let next = n.pointee.next { stack.append(next) }
            c = first
            continue
          }
        }
        c = n.pointee.next
      }
      guard let next = stack.popLast() else { return }
      c = next
    }
  }
}

extension XMLNode: Equatable {
  public static func == (a: XMLNode, b: XMLNode) -> Bool { a.ptr == b.ptr }
}
