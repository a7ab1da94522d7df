import Foundation
import Testing

@testable import Devices

/// Locations and loaded profiles shared by the NPU tests.
enum NPUFixtures {
    /// The package root: the first folder above this file holding Package.swift.
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/"
            && !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path)
        {
            url = url.deletingLastPathComponent()
        }
        return url
    }()

    static let devicesDirectory = packageRoot.appendingPathComponent("Config/devices")

    static func catalog() throws -> ChipProfileCatalog {
        try ChipProfileCatalog.load(directory: devicesDirectory)
    }

    static func costModel(_ chip: String = "910B2") throws -> NPUCostModel {
        NPUCostModel(profile: try catalog().profile(named: chip))
    }

    /// A fresh empty temporary directory.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("npu-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

@Suite("Chip profile catalog")
struct NPUChipProfileCatalogTests {
    @Test("loads every profile in Config/devices with the documented figures")
    func loadsAllShippedProfiles() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: NPUFixtures.devicesDirectory.path)
            .filter { $0.hasSuffix(".json") }
        let catalog = try NPUFixtures.catalog()
        #expect(catalog.count == files.count)
        #expect(catalog.names == ["310P3", "910B1", "910B2", "910B3", "910B4"])

        let b2 = try catalog.profile(named: "910B2")
        // 24 cores × 4096 MACs × 2 FLOPs × 1.8e9 Hz = 353,894,400,000,000 FLOP/s.
        #expect(isClose(b2.cubePeakFLOPsPerSecond(.bf16) ?? 0, 353_894_400_000_000))
        #expect(isClose(b2.cubePeakFLOPsPerSecond(.int8) ?? 0, 2 * 353_894_400_000_000))
        // 48 vector cores × 256 FLOPs × 1.8e9 Hz = 22.1184 TFLOPS (the "about 22").
        #expect(isClose(b2.vectorPeakFLOPsPerSecond(.fp16) ?? 0, 22_118_400_000_000))
        #expect(b2.hbmBytes == 64 << 30)
        // 1.6 TiB/s = 1.6 × 2^40 B/s.
        #expect(abs(b2.hbmBandwidthBytesPerSecond - 1.6 * 1_099_511_627_776) < 1)

        let b1 = try catalog.profile(named: "910B1")
        // 24 × 4096 × 2 × 1.85e9 = 363.7248 TFLOPS.
        #expect(isClose(b1.cubePeakFLOPsPerSecond(.bf16) ?? 0, 363_724_800_000_000))
        let b3 = try catalog.profile(named: "910B3")
        #expect(b3.numCubeCores == 20 && b3.numVectorCores == 40)
        let b4 = try catalog.profile(named: "910B4")
        #expect(b4.hbmBytes == 32 << 30 && b4.l2Bytes == 96 << 20)
        // 20 × 4096 × 2 × 1.5e9 = 245.76 TFLOPS.
        #expect(isClose(b4.cubePeakFLOPsPerSecond(.bf16) ?? 0, 245_760_000_000_000))
    }

    @Test("310P3 supports fp16 and int8 but not bf16")
    func p3DTypes() throws {
        let p3 = try NPUFixtures.catalog().profile(named: "310P3")
        #expect(p3.cubeDTypes == [.fp16, .int8])
        #expect(p3.cubePeakFLOPsPerSecond(.bf16) == nil)
        // 8 × 4096 × 2 × 1.06e9 = 69.46 TFLOPS fp16.
        #expect(isClose(p3.cubePeakFLOPsPerSecond(.fp16) ?? 0, 69_468_160_000_000))
        let model = NPUCostModel(profile: p3)
        let op = NPUOp.matmul(
            name: "x", numTokens: 1, inFeatures: 16, outFeatures: 16, weightDType: .bf16, activationDType: .bf16)
        #expect(throws: NPUError.unsupportedDType(dtype: .bf16, unit: "cube", chip: "310P3")) {
            try model.timing(of: op)
        }
    }

    @Test("lookup ignores case and an Ascend prefix; an unknown name lists the known ones")
    func lookup() throws {
        let catalog = try NPUFixtures.catalog()
        #expect(try catalog.profile(named: "ascend910b2").name == "910B2")
        #expect(try catalog.profile(named: "Ascend 910B3").name == "910B3")
        let error = #expect(throws: NPUError.self) { try catalog.profile(named: "910C") }
        #expect(error == .unknownChip(name: "910C", known: ["310P3", "910B1", "910B2", "910B3", "910B4"]))
        #expect(error?.description == "unknown NPU chip '910C'; known chips: 310P3, 910B1, 910B2, 910B3, 910B4")
    }

    @Test("a user can add a profile, but not silently shadow one")
    func addProfile() throws {
        var catalog = try NPUFixtures.catalog()
        var custom = try catalog.profile(named: "910B2")
        custom.name = "910B2-lab"
        custom.clockMHz = 1600
        try catalog.add(custom)
        #expect(try catalog.profile(named: "910b2-LAB").clockMHz == 1600)
        #expect(throws: NPUError.duplicateProfile(name: "910B2-lab")) { try catalog.add(custom) }
        custom.clockMHz = 1700
        try catalog.add(custom, replacing: true)
        #expect(try catalog.profile(named: "910B2-lab").clockMHz == 1700)
    }

    @Test("a directory with a broken profile is refused, naming the file and the problem")
    func refusesBrokenProfiles() throws {
        let good = try Data(contentsOf: NPUFixtures.devicesDirectory.appendingPathComponent("ascend-910b2.json"))
        let cases: [(String, (inout [String: Any]) -> Void, String)] = [
            ("missing.json", { $0.removeValue(forKey: "clockMHz") }, "missing key 'clockMHz'"),
            ("badtype.json", { $0["numCubeCores"] = "many" }, "wrong type at 'numCubeCores'"),
            (
                "efficiency.json", { $0["efficiency"] = ["compute": 1.5, "memory": 0.6, "communication": 0.7] },
                "efficiency.compute must be in (0, 1], got 1.5"
            ),
            (
                "nodtype.json", { $0["cubeMACsPerCyclePerCore"] = ["fp64": 16] },
                "cubeMACsPerCyclePerCore names no known dtype"
            ),
        ]
        for (file, breakIt, reason) in cases {
            let directory = try NPUFixtures.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            try good.write(to: directory.appendingPathComponent("a-good.json"))
            var object = try #require(try JSONSerialization.jsonObject(with: good) as? [String: Any])
            breakIt(&object)
            try JSONSerialization.data(withJSONObject: object).write(to: directory.appendingPathComponent(file))
            let error = #expect(throws: NPUError.self) { try ChipProfileCatalog.load(directory: directory) }
            let message = error?.description ?? ""
            #expect(message.contains(file) && message.contains(reason), "\(message)")
        }
        let directory = try NPUFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("{ not json".utf8).write(to: directory.appendingPathComponent("garbage.json"))
        let error = #expect(throws: NPUError.self) { try ChipProfileCatalog.load(directory: directory) }
        #expect(error?.description.contains("malformed JSON") == true)
    }
}
