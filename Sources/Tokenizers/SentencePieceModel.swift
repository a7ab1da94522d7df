import Foundation

/// The contents of a sentencepiece `ModelProto` (`tokenizer.model`) that encoding
/// and decoding need: the pieces and the trainer/normalizer settings.
///
/// Also built from a GGUF `llama` vocabulary. Field numbers follow
/// sentencepiece's `sentencepiece_model.proto`.
public struct SentencePieceModel: Sendable {
    /// Type of a piece, numbered as in the proto (and in GGUF `token_type`).
    public enum PieceType: Int, Sendable {
        case normal = 1
        case unknown = 2
        case control = 3
        case userDefined = 4
        case unused = 5
        case byte = 6
    }

    /// One vocabulary entry.
    public struct Piece: Sendable {
        public var text: String
        public var score: Float
        public var type: PieceType
    }

    /// `TrainerSpec.ModelType`.
    public enum ModelType: Int, Sendable {
        case unigram = 1
        case bpe = 2
        case word = 3
        case char = 4
    }

    public var pieces: [Piece] = []
    public var modelType: ModelType = .unigram
    public var byteFallback = false
    public var splitDigits = false
    public var treatWhitespaceAsSuffix = false
    public var unkID = 0
    public var bosID = 1
    public var eosID = 2
    public var padID = -1
    public var unkSurface = " \u{2047} "
    public var addDummyPrefix = true
    public var removeExtraWhitespaces = true
    public var escapeWhitespaces = true
    /// Bytes of the normalizer's precompiled character map (non-empty means NFKC-like rules).
    public var numPrecompiledCharsmapBytes = 0

    public init() {}

    /// Parses a serialized `ModelProto`; `path` names the file in errors.
    @_optimize(speed)
    public init(protobuf bytes: [UInt8], path: String) throws {
        var reader = ProtobufReader(bytes: bytes, path: path)
        while !reader.isAtEnd {
            let (field, wireType) = try reader.readKey()
            switch (field, wireType) {
            case (1, .lengthDelimited):
                pieces.append(try Self.parsePiece(reader.subReader(try reader.readLengthDelimited())))
            case (2, .lengthDelimited):
                try parseTrainerSpec(reader.subReader(try reader.readLengthDelimited()))
            case (3, .lengthDelimited):
                try parseNormalizerSpec(reader.subReader(try reader.readLengthDelimited()))
            default:
                try reader.skip(wireType: wireType)
            }
        }
        guard !pieces.isEmpty else {
            throw TokenizerError.malformed(path: path, reason: "sentencepiece model has no pieces")
        }
    }

    @_optimize(speed)
    private static func parsePiece(_ reader: ProtobufReader) throws -> Piece {
        var reader = reader
        var piece = Piece(text: "", score: 0, type: .normal)
        while !reader.isAtEnd {
            let (field, wireType) = try reader.readKey()
            switch (field, wireType) {
            case (1, .lengthDelimited): piece.text = try reader.readString()
            case (2, .fixed32): piece.score = try reader.readFloat()
            case (3, .varint):
                let raw = Int(try reader.readVarint())
                piece.type = PieceType(rawValue: raw) ?? .normal
            default: try reader.skip(wireType: wireType)
            }
        }
        return piece
    }

    private mutating func parseTrainerSpec(_ reader: ProtobufReader) throws {
        var reader = reader
        while !reader.isAtEnd {
            let (field, wireType) = try reader.readKey()
            switch (field, wireType) {
            case (3, .varint):
                let raw = Int(try reader.readVarint())
                modelType = ModelType(rawValue: raw) ?? .unigram
            case (24, .varint): treatWhitespaceAsSuffix = try reader.readBool()
            case (25, .varint): splitDigits = try reader.readBool()
            case (35, .varint): byteFallback = try reader.readBool()
            case (40, .varint): unkID = try reader.readInt32()
            case (41, .varint): bosID = try reader.readInt32()
            case (42, .varint): eosID = try reader.readInt32()
            case (43, .varint): padID = try reader.readInt32()
            case (44, .lengthDelimited): unkSurface = try reader.readString()
            default: try reader.skip(wireType: wireType)
            }
        }
    }

    private mutating func parseNormalizerSpec(_ reader: ProtobufReader) throws {
        var reader = reader
        while !reader.isAtEnd {
            let (field, wireType) = try reader.readKey()
            switch (field, wireType) {
            case (2, .lengthDelimited): numPrecompiledCharsmapBytes = try reader.readLengthDelimited().count
            case (3, .varint): addDummyPrefix = try reader.readBool()
            case (4, .varint): removeExtraWhitespaces = try reader.readBool()
            case (5, .varint): escapeWhitespaces = try reader.readBool()
            default: try reader.skip(wireType: wireType)
            }
        }
    }

    /// Reads and parses `tokenizer.model`.
    public static func load(contentsOf url: URL) throws -> SentencePieceModel {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: "\(error)")
        }
        return try SentencePieceModel(protobuf: [UInt8](data), path: url.path)
    }
}
