#!/usr/bin/env python3
"""Writes a random-weight bf16 checkpoint (model.safetensors + config.json) of a
real model shape, for benchmarks: the speed of a forward pass does not depend
on the weight values, only on the shapes and dtype.

Default shape: openPangu-Embedded-1B (hidden 1536, 26 layers, 12 heads, 6 KV
heads, head dim 128, intermediate 6144, vocab 153376, tied embeddings, q/k/v/o
biases). Needs numpy only. Never commit the output.

    python3 Tools/make-random-checkpoint.py /tmp/pangu-1b-random
    python3 Tools/make-random-checkpoint.py /tmp/small --layers 2 --vocab 4096
"""
import argparse
import json
import os
import struct

import numpy as np


def config_for(args):
    return {
        "architectures": ["PanguEmbeddedForCausalLM"],
        "model_type": "PanguEmbedded",
        "hidden_size": args.hidden,
        "intermediate_size": args.intermediate,
        "num_hidden_layers": args.layers,
        "num_attention_heads": args.heads,
        "num_key_value_heads": args.kv_heads,
        "head_dim": args.head_dim,
        "vocab_size": args.vocab,
        "tie_word_embeddings": True,
        "bias": True,
        "hidden_act": "silu",
        "rms_norm_eps": 1e-5,
        "rope_theta": 4000000.0,
        "max_position_embeddings": 32768,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "pad_token_id": 0,
        "torch_dtype": "bfloat16",
    }


def tensor_shapes(args):
    """(name, shape, kind) in checkpoint order; kind picks the value distribution."""
    q_dim = args.heads * args.head_dim
    kv_dim = args.kv_heads * args.head_dim
    h, i = args.hidden, args.intermediate
    shapes = [("model.embed_tokens.weight", [args.vocab, h], "weight")]
    for layer in range(args.layers):
        p = f"model.layers.{layer}"
        shapes += [
            (f"{p}.input_layernorm.weight", [h], "norm"),
            (f"{p}.post_attention_layernorm.weight", [h], "norm"),
            (f"{p}.self_attn.q_proj.weight", [q_dim, h], "weight"),
            (f"{p}.self_attn.q_proj.bias", [q_dim], "bias"),
            (f"{p}.self_attn.k_proj.weight", [kv_dim, h], "weight"),
            (f"{p}.self_attn.k_proj.bias", [kv_dim], "bias"),
            (f"{p}.self_attn.v_proj.weight", [kv_dim, h], "weight"),
            (f"{p}.self_attn.v_proj.bias", [kv_dim], "bias"),
            (f"{p}.self_attn.o_proj.weight", [h, q_dim], "weight"),
            (f"{p}.self_attn.o_proj.bias", [h], "bias"),
            (f"{p}.mlp.gate_proj.weight", [i, h], "weight"),
            (f"{p}.mlp.up_proj.weight", [i, h], "weight"),
            (f"{p}.mlp.down_proj.weight", [h, i], "weight"),
        ]
    shapes.append(("model.norm.weight", [h], "norm"))
    return shapes


def random_bf16(rng, count, kind):
    """bf16 bit patterns: norms are 1.0; weights and biases are random with
    magnitude in [2^-7, 2^-6) (weights) or [2^-9, 2^-8) (biases), random sign."""
    if kind == "norm":
        return np.full(count, 0x3F80, dtype=np.uint16)
    exponent = 0x3C00 if kind == "weight" else 0x3B00  # 2^-7 / 2^-9
    bits = rng.integers(0, 1 << 16, size=count, dtype=np.uint16)
    return (bits & np.uint16(0x807F)) | np.uint16(exponent)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory")
    parser.add_argument("--hidden", type=int, default=1536)
    parser.add_argument("--layers", type=int, default=26)
    parser.add_argument("--heads", type=int, default=12)
    parser.add_argument("--kv-heads", type=int, default=6)
    parser.add_argument("--head-dim", type=int, default=128)
    parser.add_argument("--intermediate", type=int, default=6144)
    parser.add_argument("--vocab", type=int, default=153376)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    os.makedirs(args.directory, exist_ok=True)
    shapes = tensor_shapes(args)
    header = {}
    offset = 0
    for name, shape, _ in shapes:
        size = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    header["__metadata__"] = {"format": "pt", "note": "random weights for benchmarks"}
    header_bytes = json.dumps(header, separators=(",", ":")).encode()
    header_bytes += b" " * ((8 - len(header_bytes) % 8) % 8)

    rng = np.random.default_rng(args.seed)
    path = os.path.join(args.directory, "model.safetensors")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for name, shape, kind in shapes:
            f.write(random_bf16(rng, int(np.prod(shape)), kind).astype("<u2").tobytes())
    with open(os.path.join(args.directory, "config.json"), "w") as f:
        json.dump(config_for(args), f, indent=2)
    params = offset // 2
    print(f"wrote {path}: {len(shapes)} tensors, {params / 1e9:.3f} B parameters, {offset / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
