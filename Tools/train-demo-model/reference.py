"""Builds reference.json: expected logits and greedy tokens of the exported bf16 checkpoint.

Everything is computed in float32 from the bf16 weights widened exactly to float32 (read back from
model.safetensors with our own reader), with a full recompute per greedy step (no KV cache), and
cross-checked against a float64 run of the same forward pass.
"""
from __future__ import annotations

import hashlib
import pathlib

import torch

from pangu_model import PanguConfig, PanguEmbeddedForCausalLM
from safetensors_io import read_bf16_as_f32
from tokenizer_training import BOS_ID, EOS_ID

NUM_GREEDY_TOKENS = 40
PROMPTS = [
    ("romeo", "speaker name only: the served default prompt", "ROMEO:"),
    ("juliet_line", "speaker and a line ending in a newline", "JULIET:\nO Romeo, Romeo! wherefore art thou Romeo?\n"),
    ("two_speeches", "two paragraphs, blank line, digits and punctuation",
     "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak. 1 2 3!\n\nMENENIUS:\n"),
    ("mid_sentence", "text that does not start a paragraph", "To be, or not to be, that is the"),
]


def sig6(x: float) -> float:
    return float(f"{x:.6g}")


def load_model(checkpoint_dir: pathlib.Path, config: PanguConfig, dtype: torch.dtype) -> PanguEmbeddedForCausalLM:
    model = PanguEmbeddedForCausalLM(config)
    weights = read_bf16_as_f32(checkpoint_dir / "model.safetensors")
    state = {name: torch.from_numpy(array.copy()).to(dtype) for name, array in weights.items()}
    model.load_state_dict(state, strict=True)
    return model.to(dtype).eval()


@torch.no_grad()
def greedy(model, ids: list[int], num_tokens: int) -> tuple[list[int], list[float]]:
    """Argmax decoding with a full recompute per step; returns new ids and top1 - top2 per step."""
    ids, new, margins = list(ids), [], []
    for _ in range(num_tokens):
        logits = model(torch.tensor([ids]))[0, -1]
        top2 = torch.topk(logits, 2)
        next_id = int(torch.argmax(logits))  # first maximum = lowest id on exact ties
        margins.append(sig6(float(top2.values[0] - top2.values[1])))
        ids.append(next_id)
        new.append(next_id)
    return new, margins


@torch.no_grad()
def reference_case(model, sp, name: str, note: str, text: str) -> dict:
    input_ids = [BOS_ID] + sp.encode(text)
    logits = model(torch.tensor([input_ids]))[0]  # [t, vocab]
    top = torch.topk(logits, 10, dim=-1)
    greedy_ids, margins = greedy(model, input_ids, NUM_GREEDY_TOKENS)
    last = logits[-1]
    return {
        "name": name, "note": note, "text": text, "input_ids": input_ids, "num_prompt_tokens": len(input_ids),
        "last_logits": [sig6(v) for v in last.tolist()],
        "last_logits_argmax": int(torch.argmax(last)),
        "last_logits_top10_ids": top.indices[-1].tolist(),
        "top10_ids_per_position": top.indices.tolist(),
        "top10_logits_per_position": [[sig6(v) for v in row] for row in top.values.tolist()],
        "greedy": {
            "num_new_tokens": NUM_GREEDY_TOKENS, "ignore_eos": True, "ids": greedy_ids,
            "text": sp.decode(greedy_ids),
            "top1_minus_top2_logit_per_step": margins, "min_top1_minus_top2": min(margins),
        },
    }


@torch.no_grad()
def cross_check(model32, model64, sp) -> dict:
    worst = 0.0
    for _, _, text in PROMPTS:
        x = torch.tensor([[BOS_ID] + sp.encode(text)])
        a, b = model32(x).double(), model64(x)
        worst = max(worst, float((a - b).abs().max() / b.abs().max()))
    return {
        "description": "the same forward pass in float64 on the same widened weights; max |f32 - f64| / max |f64| "
                       "over all positions of all prompts",
        "max_relative_diff": sig6(worst),
    }


def build_reference(checkpoint_dir: pathlib.Path, config: PanguConfig, sp) -> dict:
    model32 = load_model(checkpoint_dir, config, torch.float32)
    model64 = load_model(checkpoint_dir, config, torch.float64)
    digest = hashlib.sha256((checkpoint_dir / "model.safetensors").read_bytes()).hexdigest()
    return {
        "format_version": 1,
        "model": "pangu-tiny-shakespeare",
        "producer": f"Tools/train-demo-model/reference.py: own PyTorch PanguEmbedded forward (torch {torch.__version__} "
                    "CPU), float32 everywhere; weights = the bf16 values in model.safetensors widened exactly to float32",
        "weights_file_sha256": digest,
        "vocab_size": config.vocab_size,
        "bos_token_id": BOS_ID,
        "eos_token_id": EOS_ID,
        "prompt_tokenization": "input_ids = [1] + sentencepiece(tokenizer.model).encode(text)",
        "logits_rounding": "6 significant digits",
        "greedy_rule": "argmax of the last position's logits (lowest id on exact ties), appended and recomputed; "
                       f"{NUM_GREEDY_TOKENS} new tokens; EOS (2) is not treated specially",
        "top10_order": "ids sorted by logit, highest first",
        "cases": [reference_case(model32, sp, *prompt) for prompt in PROMPTS],
        "cross_check": cross_check(model32, model64, sp),
    }
