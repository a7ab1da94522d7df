"""Minimal safetensors writer and reader (format: https://huggingface.co/docs/safetensors).

Layout: u64 little-endian header length, a JSON header {name: {dtype, shape, data_offsets}} padded with
spaces to a multiple of 8 bytes, then the tensor bytes back to back in the header's order.
"""
from __future__ import annotations

import json
import pathlib
import struct

import numpy as np
import torch


def bf16_bits(t: torch.Tensor) -> np.ndarray:
    """The bfloat16 bit patterns (round-to-nearest-even from f32) of a tensor, as uint16."""
    return t.detach().to(torch.float32).contiguous().to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)


def write_bf16(path: pathlib.Path, tensors: dict[str, torch.Tensor]) -> None:
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        data = bf16_bits(tensors[name]).astype("<u2").tobytes()
        header[name] = {"dtype": "BF16", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)


def read_bf16_as_f32(path: pathlib.Path) -> dict[str, np.ndarray]:
    """Reads a BF16 safetensors file and widens every value exactly to float32 (bits << 16)."""
    data = path.read_bytes()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len])
    base = 8 + header_len
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "BF16":
            raise ValueError(f"{name}: dtype {info['dtype']}, expected BF16")
        start, end = info["data_offsets"]
        bits = np.frombuffer(data[base + start:base + end], dtype="<u2").astype(np.uint32) << 16
        out[name] = bits.view(np.float32).reshape(info["shape"])
    return out
