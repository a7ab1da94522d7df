#!/usr/bin/env python3
"""Convert a Hugging Face Llama-family / openPangu-Embedded checkpoint directory
(config.json, model.safetensors, tokenizer.model, tokenizer_config.json) into a
GGUF v3 file the way llama.cpp names it, for `pangu-serve --model FILE.gguf`.

Needs only numpy: the GGUF and protobuf encodings are written by hand here
(spec: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md).

  --arch llama           llama.cpp's `llama` layout: q/k weight rows (and biases)
                         permuted per head so RoPE rotates adjacent pairs
  --arch pangu-embedded  llama.cpp's openPangu-Embedded architecture (its
                         LLM_ARCH_PANGU_EMBED, named "pangu-embedded" in files and
                         metadata keys): tensors as in the checkpoint, NeoX RoPE
  --arch pangu-embed     the same tensors under the name this converter used before
                         (PanguServe still loads it; llama.cpp refuses it)
  --outtype bf16|f32     1-D tensors (norms, biases) are always f32, as llama.cpp writes them
  --outtype q8_0|q4_0    GGUF's block formats for the 2-D tensors whose rows hold whole
                         blocks of 32 (the others as with bf16), bit for bit what
                         `pangu-serve --quantize q8_0|q4_0` makes at load; q4_0 is
                         llama.cpp's reference quantizer (quantize_row_q4_0_ref)

config.json's `rope_scaling` with `rope_type: llama3` becomes `rope_freqs.weight` (one f32
divisor per rotary frequency, what llama.cpp's converter writes); `linear` becomes
<arch>.rope.scaling.type/factor (which pangu-serve refuses); other types stop the conversion.

When tokenizer.model has fewer pieces than config.json's vocab_size (a random
benchmark checkpoint borrowing a smaller tokenizer), the vocabulary is padded
with "[PADn]" pieces of type UNUSED, as llama.cpp's converter does: llama.cpp
requires one token per embedding row.

usage: Tools/convert-to-gguf.py MODEL_DIR OUT.gguf [--arch llama|pangu-embedded] [--outtype bf16|f32|q8_0|q4_0]
"""
import argparse
import json
import math
import mmap
import struct
from pathlib import Path

import numpy as np

ALIGN = 32
GGML_F32, GGML_Q4_0, GGML_Q8_0, GGML_BF16 = 0, 2, 8, 30
QK = 32  # weights per Q8_0 / Q4_0 block
FTYPE_ALL_F32, FTYPE_MOSTLY_BF16 = 0, 32  # llama.cpp's llama_ftype, for general.file_type
FTYPE_MOSTLY_Q4_0, FTYPE_MOSTLY_Q8_0 = 2, 7
TOKEN_TYPE_UNUSED = 5
T_U32, T_I32, T_F32, T_BOOL, T_STRING, T_ARRAY = 4, 5, 6, 7, 8, 9


class SafetensorsFile:
    """Tensors of a safetensors file, memory-mapped and decoded to f32 one at a time
    (a 1B-parameter checkpoint does not fit in memory as f32 all at once)."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.raw = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        n = struct.unpack("<Q", self.raw[:8])[0]
        self.base = 8 + n
        self.header = {k: v for k, v in json.loads(self.raw[8:8 + n]).items() if k != "__metadata__"}

    def __contains__(self, name):
        return name in self.header

    def __getitem__(self, name):
        return decode_tensor(name, self.header[name], self.raw, self.base)

    def get(self, name):
        return self[name] if name in self else None


def decode_tensor(name, e, raw, base):
    a, b = e["data_offsets"]
    buf = raw[base + a:base + b]
    if e["dtype"] == "BF16":
        bits = np.frombuffer(buf, dtype=np.uint16).astype(np.uint32) << 16
        arr = bits.view(np.float32)
    elif e["dtype"] == "F16":
        arr = np.frombuffer(buf, dtype=np.float16).astype(np.float32)
    elif e["dtype"] == "F32":
        arr = np.frombuffer(buf, dtype=np.float32)
    else:
        raise SystemExit(f"{name}: unsupported dtype {e['dtype']}")
    return arr.reshape(e["shape"])


def read_sentencepiece(path):
    """(piece, score, type) of each piece of a sentencepiece ModelProto (field 1)."""
    data = Path(path).read_bytes()

    def varint(buf, i):
        value = shift = 0
        while True:
            byte = buf[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value, i

    pieces, i = [], 0
    while i < len(data):
        key, i = varint(data, i)
        field, wire = key >> 3, key & 7
        if wire == 2:
            length, i = varint(data, i)
            if field == 1:
                pieces.append(parse_piece(data[i:i + length], varint))
            i += length
        elif wire == 0:
            _, i = varint(data, i)
        elif wire == 5:
            i += 4
        elif wire == 1:
            i += 8
        else:
            raise SystemExit(f"{path}: unexpected protobuf wire type {wire}")
    return pieces


def parse_piece(buf, varint):
    piece, score, kind, i = "", 0.0, 1, 0
    while i < len(buf):
        key, i = varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 2:
            length, i = varint(buf, i)
            if field == 1:
                piece = buf[i:i + length].decode("utf-8")
            i += length
        elif wire == 5:
            if field == 2:
                score = struct.unpack("<f", buf[i:i + 4])[0]
            i += 4
        elif wire == 0:
            value, i = varint(buf, i)
            if field == 3:
                kind = value
        else:
            raise SystemExit(f"unexpected wire type {wire} in a sentencepiece piece")
    return piece, score, kind  # sentencepiece and GGUF share the token type numbers


def permute(w, n_head):
    """llama.cpp's q/k row order: within a head, row j*(d/2)+i moves to 2*i+j."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def quantize_q8_0(arr):
    """Q8_0 blocks as pangu-serve's `Quantize.q8_0`: d = max|x|/127 as f16, q = round-half-even(x / d_f16)."""
    x = arr.reshape(-1, QK)
    d16 = (np.abs(x).max(axis=1) / np.float32(127)).astype(np.float16)
    d = d16.astype(np.float32)
    inv = np.divide(np.float32(1), d, out=np.zeros_like(d), where=d > 0)
    q = np.clip(np.rint(x * inv[:, None]), -127, 127).astype(np.int8)
    return np.concatenate([d16[:, None].view(np.uint8), q.view(np.uint8)], axis=1).tobytes()


def quantize_q4_0(arr):
    """Q4_0 blocks as ggml's quantize_row_q4_0_ref: d = (value of largest magnitude) / -8, id = 1/d in f32,
    q = min(15, trunc(x * id + 8.5)), stored as f16 d then byte j = q[j] | q[j + 16] << 4."""
    x = arr.reshape(-1, QK)
    extreme = x[np.arange(len(x)), np.abs(x).argmax(axis=1)]  # first of the largest magnitudes, sign kept
    d = extreme / np.float32(-8)
    inv = np.divide(np.float32(1), d, out=np.zeros_like(d), where=d != 0)
    q = np.minimum(15, np.trunc(x * inv[:, None] + np.float32(8.5))).astype(np.uint8)
    nibbles = q[:, :QK // 2] | (q[:, QK // 2:] << 4)
    return np.concatenate([d.astype(np.float16)[:, None].view(np.uint8), nibbles], axis=1).tobytes()


QUANTIZERS = {"q8_0": (GGML_Q8_0, quantize_q8_0), "q4_0": (GGML_Q4_0, quantize_q4_0)}


def llama3_rope_factors(cfg):
    """Llama 3.1 RoPE scaling as per-frequency divisors (llama.cpp's rope_freqs): frequency i of
    theta^(-2i/head_dim) keeps factor 1 when its wavelength is below original/high_freq_factor, gets
    `factor` above original/low_freq_factor, and 1 / ((1 - smooth) / factor + smooth) between, with
    smooth = (original / wavelength - low_freq_factor) / (high_freq_factor - low_freq_factor)."""
    rs = cfg["rope_scaling"]
    dim = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    base = cfg.get("rope_theta", 10000.0)
    factor = rs.get("factor", 8.0)
    low, high = rs.get("low_freq_factor", 1.0), rs.get("high_freq_factor", 4.0)
    original = rs.get("original_max_position_embeddings", 8192)
    factors = []
    for i in range(0, dim, 2):
        wavelen = 2 * math.pi * base ** (i / dim)
        if wavelen < original / high:
            factors.append(1.0)
        elif wavelen > original / low:
            factors.append(factor)
        else:
            smooth = (original / wavelen - low) / (high - low)
            factors.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(factors, dtype=np.float32)


def add_rope_scaling(w, cfg, arch):
    """config.json's rope_scaling in llama.cpp's GGUF form; unknown types stop the conversion."""
    rs = cfg.get("rope_scaling") or {}
    kind = rs.get("rope_type", rs.get("type", "default"))
    if kind == "default":
        return
    if kind == "llama3":
        w.add_tensor("rope_freqs.weight", llama3_rope_factors(cfg), "f32")
    elif kind == "linear":
        w.add(f"{arch}.rope.scaling.type", T_STRING, "linear")
        w.add(f"{arch}.rope.scaling.factor", T_F32, rs["factor"])
    else:
        raise SystemExit(f"rope_scaling type {kind!r} is not supported (supported: llama3, linear)")


class Writer:
    def __init__(self):
        self.kv = bytearray()
        self.num_kv = 0
        self.tensors = []

    @staticmethod
    def string(s):
        b = s.encode("utf-8")
        return struct.pack("<Q", len(b)) + b

    def add(self, key, kind, value):
        self.num_kv += 1
        self.kv += self.string(key) + struct.pack("<I", kind)
        if kind == T_STRING:
            self.kv += self.string(value)
        elif kind == T_U32:
            self.kv += struct.pack("<I", value)
        elif kind == T_F32:
            self.kv += struct.pack("<f", value)
        elif kind == T_BOOL:
            self.kv += struct.pack("<B", 1 if value else 0)

    def add_array(self, key, kind, values):
        self.num_kv += 1
        self.kv += self.string(key) + struct.pack("<IIQ", T_ARRAY, kind, len(values))
        for v in values:
            if kind == T_STRING:
                self.kv += self.string(v)
            elif kind == T_F32:
                self.kv += struct.pack("<f", v)
            elif kind == T_I32:
                self.kv += struct.pack("<i", v)

    def add_tensor(self, name, arr, outtype):
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        if outtype in QUANTIZERS and arr.ndim == 2 and arr.shape[1] % QK == 0:
            kind, quantize = QUANTIZERS[outtype]
            self.tensors.append((name, arr.shape, kind, quantize(arr)))
        elif outtype in ("bf16", *QUANTIZERS) and arr.ndim > 1:
            bits = arr.view(np.uint32)
            rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
            self.tensors.append((name, arr.shape, GGML_BF16, rounded.tobytes()))
        else:
            self.tensors.append((name, arr.shape, GGML_F32, arr.tobytes()))

    def write(self, path):
        out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(self.tensors), self.num_kv)) + self.kv
        offset = 0
        for name, shape, kind, data in self.tensors:
            out += self.string(name) + struct.pack("<I", len(shape))
            out += b"".join(struct.pack("<Q", d) for d in reversed(shape))
            out += struct.pack("<IQ", kind, offset)
            offset += (len(data) + ALIGN - 1) // ALIGN * ALIGN
        out += bytes(-len(out) % ALIGN)
        with open(path, "wb") as f:  # tensor data streamed, not copied into one buffer
            f.write(out)
            for _, _, _, data in self.tensors:
                f.write(data)
                f.write(bytes(-len(data) % ALIGN))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model_dir")
    p.add_argument("out")
    p.add_argument("--arch", choices=["llama", "pangu-embedded", "pangu-embed"], default="llama")
    p.add_argument("--outtype", choices=["bf16", "f32", "q8_0", "q4_0"], default="bf16")
    a = p.parse_args()
    d = Path(a.model_dir)
    cfg = json.loads((d / "config.json").read_text())
    tcfg = json.loads((d / "tokenizer_config.json").read_text()) if (d / "tokenizer_config.json").exists() else {}
    weights = SafetensorsFile(d / "model.safetensors")
    n_head, n_kv = cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    arch = a.arch

    w = Writer()
    w.add("general.architecture", T_STRING, arch)
    w.add("general.alignment", T_U32, ALIGN)
    w.add("general.name", T_STRING, d.name)
    file_types = {"f32": FTYPE_ALL_F32, "bf16": FTYPE_MOSTLY_BF16, "q8_0": FTYPE_MOSTLY_Q8_0, "q4_0": FTYPE_MOSTLY_Q4_0}
    w.add("general.file_type", T_U32, file_types[a.outtype])
    for key, hf in [("embedding_length", "hidden_size"), ("block_count", "num_hidden_layers"),
                    ("feed_forward_length", "intermediate_size"), ("attention.head_count", "num_attention_heads"),
                    ("context_length", "max_position_embeddings"), ("vocab_size", "vocab_size")]:
        w.add(f"{arch}.{key}", T_U32, cfg[hf])
    w.add(f"{arch}.attention.head_count_kv", T_U32, n_kv)
    w.add(f"{arch}.attention.layer_norm_rms_epsilon", T_F32, cfg.get("rms_norm_eps", 1e-6))
    w.add(f"{arch}.rope.freq_base", T_F32, cfg.get("rope_theta", 10000.0))
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // n_head
    w.add(f"{arch}.rope.dimension_count", T_U32, head_dim)
    w.add(f"{arch}.attention.key_length", T_U32, head_dim)
    w.add(f"{arch}.attention.value_length", T_U32, head_dim)
    pieces = read_sentencepiece(d / "tokenizer.model")
    if len(pieces) > cfg["vocab_size"]:
        raise SystemExit(f"tokenizer.model has {len(pieces)} pieces, more than vocab_size {cfg['vocab_size']}")
    pieces += [(f"[PAD{i}]", -1000.0, TOKEN_TYPE_UNUSED) for i in range(len(pieces), cfg["vocab_size"])]
    w.add("tokenizer.ggml.model", T_STRING, "llama")
    w.add_array("tokenizer.ggml.tokens", T_STRING, [t for t, _, _ in pieces])
    w.add_array("tokenizer.ggml.scores", T_F32, [s for _, s, _ in pieces])
    w.add_array("tokenizer.ggml.token_type", T_I32, [k for _, _, k in pieces])
    for key, hf in [("bos_token_id", "bos_token_id"), ("eos_token_id", "eos_token_id"),
                    ("padding_token_id", "pad_token_id")]:
        if isinstance(cfg.get(hf), int):
            w.add(f"tokenizer.ggml.{key}", T_U32, cfg[hf])
    w.add("tokenizer.ggml.add_bos_token", T_BOOL, tcfg.get("add_bos_token", True))
    w.add("tokenizer.ggml.add_eos_token", T_BOOL, tcfg.get("add_eos_token", False))

    names = {"input_layernorm.weight": "attn_norm.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
             "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
             "mlp.down_proj.weight": "ffn_down.weight"}
    for proj, short in [("q", "attn_q"), ("k", "attn_k"), ("v", "attn_v"), ("o", "attn_output")]:
        for kind in ("weight", "bias"):
            names[f"self_attn.{proj}_proj.{kind}"] = f"{short}.{kind}"
    add_rope_scaling(w, cfg, arch)
    w.add_tensor("token_embd.weight", weights["model.embed_tokens.weight"], a.outtype)
    w.add_tensor("output_norm.weight", weights["model.norm.weight"], a.outtype)
    if "lm_head.weight" in weights and not cfg.get("tie_word_embeddings", False):
        w.add_tensor("output.weight", weights["lm_head.weight"], a.outtype)
    for layer in range(cfg["num_hidden_layers"]):
        for hf, short in names.items():
            t = weights.get(f"model.layers.{layer}.{hf}")
            if t is None:
                continue
            if arch == "llama" and short.startswith(("attn_q.", "attn_k.")):
                t = permute(t, n_head if short.startswith("attn_q.") else n_kv)
            w.add_tensor(f"blk.{layer}.{short}", t, a.outtype)
    w.write(a.out)
    print(f"wrote {a.out}: {len(w.tensors)} tensors, {len(pieces)} tokens, arch {arch}")


if __name__ == "__main__":
    main()
