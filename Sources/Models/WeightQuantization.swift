import Tensors

/// How a model's projection matrices are stored after loading: as the
/// checkpoint has them, or quantized at load to GGUF's Q8_0 blocks
/// (`--quantize q8_0`), which halves the bytes decode reads from bf16.
///
/// Only 2-D float matrices whose rows hold whole blocks of 32 are quantized
/// (q/k/v/o, gate/up/down, experts, embeddings and LM head); norms, biases,
/// the MoE router and router scales stay in float.
public enum WeightQuantization: String, Sendable, CaseIterable {
    case none
    case q8_0

    /// `tensor` as this mode stores it (unchanged when it does not qualify).
    public func apply(_ tensor: WeightTensor) -> WeightTensor {
        guard self == .q8_0, tensor.dtype != .q8_0, tensor.shape.count == 2,
            tensor.cols % DType.q8BlockSize == 0
        else { return tensor }
        return tensor.quantizedQ8_0()
    }
}
