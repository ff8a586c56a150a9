// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "fargate-local",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "fargate-local", targets: ["fargate-local"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        .target(name: "ECSModel"),
        .target(
            name: "Controller",
            dependencies: [
                "ECSModel",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .target(
            name: "CLI",
            dependencies: [
                "ECSModel", "Controller",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "fargate-local", dependencies: ["CLI"]),
        .testTarget(name: "ECSModelTests", dependencies: ["ECSModel"]),
        .testTarget(name: "ControllerTests", dependencies: ["Controller"]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["ECSModel", .product(name: "Subprocess", package: "swift-subprocess")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
