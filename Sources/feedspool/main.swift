// TEMPORARY (feeds branch): a minimal `parse` dispatcher for scoring. The lead replaces
// this file with the real ArgumentParser command line, which calls the same helpers.
import Feeds

#if canImport(Glibc)
  import Glibc
#endif

var args = Array(CommandLine.arguments.dropFirst())
guard args.first == "parse" else {
  print("usage: feedspool parse FILE [--url URL] [--headers JSONFILE] | parse --list FILE")
  exit(2)
}
args.removeFirst()
if args.first == "--list", args.count >= 2 {
  let r = FeedParser.parseList(args[1])
  print("items=\(r.items) errors=\(r.errors)")
  exit(0)
}
var file: String?
var url: String?
var headers: String?
var i = 0
while i < args.count {
  switch args[i] {
  case "--url":
    url = i + 1 < args.count ? args[i + 1] : nil
    i += 2
  case "--headers":
    headers = i + 1 < args.count ? args[i + 1] : nil
    i += 2
  default:
    file = args[i]
    i += 1
  }
}
guard let file else {
  print("usage: feedspool parse FILE [--url URL] [--headers JSONFILE]")
  exit(2)
}
let r = FeedParser.parseCommand(file: file, url: url, headersFile: headers)
print(r.output)
exit(r.exitCode)
