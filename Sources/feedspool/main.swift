// TEMPORARY dispatcher for scoring the extractor; the lead replaces this file with the
// ArgumentParser CLI. Usage: feedspool extract FILE [--url URL] | feedspool extract --list FILE
import Extract
import Foundation

let args = Array(CommandLine.arguments.dropFirst())
guard args.first == "extract" else {
  FileHandle.standardError.write(
    "usage: feedspool extract FILE [--url URL] | --list FILE\n".data(using: .utf8)!)
  exit(2)
}
var file: String?
var url = ""
var list: String?
var htmlOnly = false
var i = 1
while i < args.count {
  switch args[i] {
  case "--url" where i + 1 < args.count:
    url = args[i + 1]
    i += 1
  case "--html":
    htmlOnly = true
  case "--list" where i + 1 < args.count:
    list = args[i + 1]
    i += 1
  default:
    file = args[i]
  }
  i += 1
}
do {
  if let list {
    try Extractor.extractList(list)
  } else if let file, let data = FileManager.default.contents(atPath: file) {
    let page = try Extractor.extract([UInt8](data), url: url, contentType: nil)
    print(htmlOnly ? page.contentHTML : Extractor.commandJSON(page, markdown: nil))
  } else {
    FileHandle.standardError.write("cannot read \(file ?? "(no file)")\n".data(using: .utf8)!)
    exit(1)
  }
} catch {
  FileHandle.standardError.write("extract: \(error)\n".data(using: .utf8)!)
  exit(1)
}
