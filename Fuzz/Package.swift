// swift-tools-version:6.0
// libFuzzer targets for feedspool's parsers (see Scripts/fuzz.sh).
//
// The main package exports no library product, so this package compiles the library
// modules itself: Sources/<Module> here are symbolic links to ../Sources/<Module> (the
// same files, never copies). Everything is built with `--sanitize=fuzzer
// --sanitize=address` by Scripts/fuzz.sh; each Fuzz* executable defines only
// `LLVMFuzzerTestOneInput` and gets its `main` from libFuzzer.
import PackageDescription

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]
// No `main`: libFuzzer provides it.
let harness: [SwiftSetting] = strict + [.unsafeFlags(["-parse-as-library"])]

let package = Package(
  name: "feedspool-fuzz",
  platforms: [.macOS(.v13)],
  dependencies: [
    .package(url: "https://github.com/jpsim/Yams", from: "6.0.0")
  ],
  targets: [
    .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0"),
    .systemLibrary(name: "CPSL", pkgConfig: "libpsl"),
    .target(name: "XML", dependencies: ["CLibXML2"], swiftSettings: strict),
    .target(name: "Articles", dependencies: ["XML", "CPSL"], swiftSettings: strict),
    // Testable: FuzzFeed compares the streaming and DOM parses (an internal switch).
    .target(
      name: "Feeds", dependencies: ["XML", "Articles"],
      swiftSettings: strict + [.unsafeFlags(["-enable-testing"])]),
    .target(name: "Extract", dependencies: ["XML", "Articles"], swiftSettings: strict),

    .executableTarget(
      name: "FuzzFeed", dependencies: ["Feeds"], path: "Targets/FuzzFeed",
      swiftSettings: harness),
    .executableTarget(
      name: "FuzzExtract", dependencies: ["Extract", "Articles"], path: "Targets/FuzzExtract",
      swiftSettings: harness),
    .executableTarget(
      name: "FuzzURL", dependencies: ["Articles"], path: "Targets/FuzzURL",
      swiftSettings: harness),
    .executableTarget(
      name: "FuzzFrontMatter",
      dependencies: ["Articles", .product(name: "Yams", package: "Yams")],
      path: "Targets/FuzzFrontMatter", swiftSettings: harness),
  ]
)
