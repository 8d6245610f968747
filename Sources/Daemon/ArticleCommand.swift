import Articles
import Extract
import Foundation

/// `feedspool extract`: one page, extracted, with its Markdown body.
public enum ArticleCommand {
  public static func extractJSON(_ bytes: [UInt8], url: String, contentType: String? = nil)
    -> String
  {
    do {
      let page = try Extractor.extract(bytes, url: url, contentType: contentType)
      let md = MarkdownConverter.convert(html: page.contentHTML, baseURL: url).markdown
      return Extractor.commandJSON(page, markdown: md)
    } catch {
      let o: [String: Any] = ["error": "\(error)"]
      let data = (try? JSONSerialization.data(withJSONObject: o)) ?? Data("{}".utf8)
      return String(decoding: data, as: UTF8.self)
    }
  }
}
