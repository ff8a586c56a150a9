// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "fargate-local",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "fargate-local", targets: ["fargate-local"]),
        .executable(name: "zip-task", targets: ["zip-task"]),
        .executable(name: "fargate-local-shim", targets: ["fargate-local-shim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // libcurl is dlopen()ed on first use (see Sources/CCurl): its headers come from libcurl4-openssl-dev.
        .target(name: "CCurl"),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CMalloc"),
        .target(name: "CurlHTTP", dependencies: ["CCurl"]),
        .target(
            name: "ZipTask",
            dependencies: [
                "CurlHTTP", "CArchive", "CZlib",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(name: "zip-task", dependencies: ["ZipTask", "CMalloc"]),
        .target(name: "ECSModel"),
        .target(name: "ShimCore"),
        // A fully static executable (no dynamic loader, no libstdc++ relocations): the shim starts
        // for every process container, in 0.8 ms (1.7 ms with only the Swift runtime static).
        // It looks up no user, group or host names (no NSS), so static glibc is safe.
        .executableTarget(
            name: "fargate-local-shim", dependencies: ["ShimCore"],
            linkerSettings: [.unsafeFlags(["-static-executable"])]
        ),
        .target(
            name: "Controller",
            dependencies: [
                "ECSModel", "CurlHTTP", "ShimCore",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .target(
            name: "Server",
            dependencies: [
                "ECSModel", "Controller", "CurlHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(
            name: "CLI",
            dependencies: [
                "ECSModel", "Controller", "Server", "ShimCore", "CurlHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Start-up is paid by every CLI call and every `run`: no exported dynamic symbols (the
        // static Swift runtime's default exports ~28,000, which dladdr() then scans) and no PIE
        // (~112,000 relative relocations at each start). 9.4 ms -> 3.5 ms with libcurl dlopen()ed.
        // Release only, which is built with --static-swift-stdlib: against the shared Swift
        // runtime of a debug build, a non-PIE executable makes the dynamic loader warn on
        // stderr ("direct reference to protected function") as each runtime function binds.
        .executableTarget(
            name: "fargate-local", dependencies: ["CLI"],
            linkerSettings: [.unsafeFlags(["-Xlinker", "--no-export-dynamic", "-Xlinker", "-no-pie"], .when(configuration: .release))]
        ),
        .testTarget(name: "ECSModelTests", dependencies: ["ECSModel"]),
        .testTarget(name: "ControllerTests", dependencies: ["Controller", "ShimCore", "TestSupport"]),
        .target(
            name: "TestSupport",
            dependencies: [.product(name: "Subprocess", package: "swift-subprocess")],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "ZipTaskTests", dependencies: ["ZipTask", "CurlHTTP", "CArchive", "TestSupport"]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "ECSModel", "CArchive", "TestSupport",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
