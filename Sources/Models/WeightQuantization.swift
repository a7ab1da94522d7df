import Tensors

/// How a model's projection matrices are stored after loading: as the
/// checkpoint has them, or quantized at load to one of GGUF's block formats:
/// `--quantize q8_0` (Q8_0, 34 bytes per 32 weights: about half the bytes
/// decode reads from bf16) or `--quantize q4_0` (Q4_0, 18 bytes per 32
/// weights: about a quarter of bf16's bytes, with a coarser 16-level grid).
///
/// Only 2-D float matrices whose rows hold whole blocks of 32 are quantized
/// (q/k/v/o, gate/up/down, experts, embeddings and LM head); norms, biases,
/// the MoE router and router scales stay in float, and matrices that are
/// already block-quantized (read from a GGUF file) keep their type. Q8_0, Q4_0,
/// Q4_K and Q6_K matrices, made here or read from a file, are then repacked as
/// Q8_0x16 / Q4_0x16 / Q4_Kx8 / Q6_Kx8 (groups of 16 or 8 rows, the layout of the fast
/// integer kernels) when their row count is a multiple of that.
public enum WeightQuantization: String, Sendable, CaseIterable {
    case none
    case q8_0
    case q4_0

    /// The block type this mode quantizes to (nil for `none`).
    public var dtype: DType? {
        switch self {
        case .none: nil
        case .q8_0: .q8_0
        case .q4_0: .q4_0
        }
    }

    /// `tensor` as this mode stores it (unchanged when it does not qualify).
    public func apply(_ tensor: WeightTensor) -> WeightTensor {
        tensor.shape.count == 2 ? quantize(tensor).interleaved() : tensor
    }

    /// `tensor` quantized as this mode says, in its file layout (what a GGUF file would hold).
    public func quantize(_ tensor: WeightTensor) -> WeightTensor {
        guard let dtype, !tensor.dtype.isBlockQuantized, tensor.shape.count == 2,
            tensor.cols % dtype.blockSize == 0
        else { return tensor }
        return tensor.quantized(to: dtype)
    }
}
