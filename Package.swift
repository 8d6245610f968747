// swift-tools-version:6.0
// feedspool: a feed aggregation daemon. Swift 6 language mode (tools 6.0 default).
import PackageDescription

let strict: [SwiftSetting] = [
  .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
  name: "feedspool",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "feedspool", targets: ["feedspool"])
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
  ],
  targets: [
    // C libraries: each seen by exactly one Swift module.
    .systemLibrary(
      name: "CCurl", pkgConfig: "libcurl",
      providers: [.apt(["libcurl4-openssl-dev"])]),
    .systemLibrary(
      name: "CLibXML2", pkgConfig: "libxml-2.0",
      providers: [.apt(["libxml2-dev"])]),
    .systemLibrary(
      name: "CPSL", pkgConfig: "libpsl",
      providers: [.apt(["libpsl-dev"])]),
    .systemLibrary(
      name: "CDecompress",
      providers: [.apt(["zlib1g-dev", "libbrotli-dev", "libzstd-dev"])]),
    .systemLibrary(name: "CMalloc"),

    // Stages, in the order an article travels.
    .target(name: "HTTP", dependencies: ["CCurl", "CDecompress"], swiftSettings: strict),
    .target(name: "XML", dependencies: ["CLibXML2"], swiftSettings: strict),
    .target(name: "Articles", dependencies: ["XML", "CPSL"], swiftSettings: strict),
    .target(name: "Feeds", dependencies: ["XML", "Articles"], swiftSettings: strict),
    .target(name: "Extract", dependencies: ["XML", "Articles"], swiftSettings: strict),
    .target(name: "Spool", dependencies: ["Articles"], swiftSettings: strict),
    .target(
      name: "Daemon",
      dependencies: [
        "HTTP", "Feeds", "Extract", "Articles", "Spool",
        .product(name: "Yams", package: "Yams"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "Prometheus", package: "swift-prometheus"),
      ],
      swiftSettings: strict),
    .executableTarget(
      name: "feedspool",
      dependencies: [
        "Daemon", "Feeds", "Extract", "Spool", "Articles", "HTTP",
        .target(name: "CMalloc", condition: .when(platforms: [.linux])),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict),

    // Test helpers: a real HTTP server on 127.0.0.1, temp dirs.
    .target(
      name: "TestSupport", dependencies: [], path: "Tests/TestSupport", swiftSettings: strict),

    .testTarget(name: "XMLTests", dependencies: ["XML"], swiftSettings: strict),
    .testTarget(name: "HTTPTests", dependencies: ["HTTP", "TestSupport"], swiftSettings: strict),
    .testTarget(
      name: "ArticlesTests",
      dependencies: ["Articles", "TestSupport", .product(name: "Yams", package: "Yams")],
      swiftSettings: strict),
    .testTarget(
      name: "FeedsTests", dependencies: ["Feeds", "TestSupport"], resources: [.copy("Fixtures")],
      swiftSettings: strict),
    .testTarget(name: "ExtractTests", dependencies: ["Extract"], swiftSettings: strict),
    .testTarget(
      name: "SpoolTests", dependencies: ["Spool", "Articles", "TestSupport"], swiftSettings: strict),
    .testTarget(
      name: "DaemonTests",
      dependencies: ["Daemon", "HTTP", "TestSupport", .product(name: "Yams", package: "Yams")],
      swiftSettings: strict),
  ]
)
