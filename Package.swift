// swift-tools-version:6.0
// PanguServe: an OpenAI-compatible serving daemon for Huawei's open Pangu models.
// No package dependencies: sockets are POSIX, TLS is the system OpenSSL.
import Foundation
import PackageDescription

/// CPU the compute kernels are compiled for. `haswell` (AVX2 + FMA) is the
/// portable baseline; `PANGU_TARGET_CPU=native` builds for the build machine.
let targetCPU = ProcessInfo.processInfo.environment["PANGU_TARGET_CPU"] ?? "haswell"
/// `PANGU_EMULATE_ISA=1` (tests, with its own `--scratch-path`) builds the C kernels with AVX-512
/// and AMX emulated on AVX2 by SIMDe (libsimde-dev; Sources/CKernels/emulated_isa.h), so their
/// AVX-512 and AMX paths run on any AVX2 machine.
let emulateISA = ProcessInfo.processInfo.environment["PANGU_EMULATE_ISA"] == "1"
let kernelCFlags =
    ["-O3", "-falign-functions=64"]
    + (emulateISA ? ["-DPG_EMULATE_ISA", "-mavx2", "-mfma", "-mf16c", "-Wno-psabi"] : [])
/// Compute modules are optimised even in debug builds: unoptimised SIMD code
/// is ~100x slower, which would make the model tests crawl.
let kernelSettings: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", targetCPU], .when(platforms: [.linux])),
    .unsafeFlags(["-O"]),
]

let package = Package(
    name: "PanguServe",
    products: [
        .executable(name: "pangu-serve", targets: ["PanguServe"])
    ],
    targets: [
        .target(name: "Telemetry"),
        .target(name: "HTTP1", dependencies: ["Telemetry"]),
        .systemLibrary(
            name: "COpenSSL", pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]),
        .target(name: "HTTPServer", dependencies: ["HTTP1", "COpenSSL", "Telemetry"]),
        // x86 SIMD kernels (AVX2/FMA/F16C, AVX-512 behind runtime CPU checks), optimised even in
        // debug; functions on 64-byte lines so their loops do not move with the link order.
        .target(name: "CKernels", cSettings: [.unsafeFlags(kernelCFlags)]),
        .target(name: "Tensors", dependencies: ["CKernels"], swiftSettings: kernelSettings),
        .target(name: "Weights", dependencies: ["Tensors"]),
        .target(name: "Tokenizers"),
        .target(name: "Sampling", dependencies: ["Tensors"], swiftSettings: kernelSettings),
        .target(name: "Models", dependencies: ["Tensors", "Weights"], swiftSettings: kernelSettings),
        .target(name: "Engine", dependencies: ["Tokenizers", "Sampling", "Telemetry"]),
        .target(
            name: "Devices",
            dependencies: ["Engine", "Models", "Tensors", "Sampling", "Telemetry"],
            swiftSettings: kernelSettings),
        .target(
            name: "OpenAIAPI", dependencies: ["HTTP1", "HTTPServer", "Engine", "Sampling", "Tokenizers", "Telemetry"]),
        .executableTarget(
            name: "PanguServe",
            dependencies: [
                "Telemetry", "HTTP1", "HTTPServer", "Tensors", "Weights", "Tokenizers",
                "Sampling", "Models", "Engine", "Devices", "OpenAIAPI",
            ],
            resources: [.copy("Resources/pangu-tiny-shakespeare")]),
        .executableTarget(
            name: "HTTPBench", dependencies: ["HTTPServer", "HTTP1", "Telemetry"], path: "Benchmarks/HTTPBench"),

        .executableTarget(
            name: "ModelBench", dependencies: ["Models", "Tensors", "CKernels"], path: "Benchmarks/ModelBench",
            swiftSettings: kernelSettings),

        .testTarget(name: "TelemetryTests", dependencies: ["Telemetry"]),
        .testTarget(name: "HTTP1Tests", dependencies: ["HTTP1"]),
        // A raw-socket HTTP client shared by the live-server test targets.
        .target(name: "HTTPTestSupport", dependencies: ["HTTP1"], path: "Tests/HTTPTestSupport"),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer", "HTTP1", "HTTPTestSupport"]),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
        .testTarget(name: "WeightsTests", dependencies: ["Weights", "Tensors"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers"]),
        .testTarget(name: "SamplingTests", dependencies: ["Sampling", "Tensors"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Weights", "Tensors", "Tokenizers"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "Sampling", "Tokenizers"]),
        .testTarget(
            name: "DevicesTests",
            dependencies: ["Devices", "Engine", "Models", "Tensors", "Sampling", "Tokenizers"]),
        .testTarget(name: "PanguServeTests", dependencies: ["PanguServe"]),
        .testTarget(
            name: "OpenAIAPITests",
            dependencies: [
                "OpenAIAPI", "HTTP1", "HTTPServer", "Engine", "Sampling", "Tokenizers", "Telemetry", "Devices", "Models",
                "Tensors", "HTTPTestSupport",
            ]),
    ]
)
