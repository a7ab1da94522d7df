"""Checks pangu_model.py against the project's independent reference for the same architecture.

Loads shared/data/models/tiny-pangu-embedded (untied: it has its own lm_head.weight) into our PanguEmbedded
forward and compares with its reference.json (computed by Hugging Face transformers): every case's
last-position logits, top-10 ids at every position, and the 40 greedy tokens.

    python Tools/train-demo-model/verify_architecture.py
"""
from __future__ import annotations

import json

import torch

from corpus import REPO_ROOT
from pangu_model import PanguConfig, PanguEmbeddedForCausalLM
from safetensors_io import read_bf16_as_f32

TINY = REPO_ROOT.parent / "shared" / "data" / "models" / "tiny-pangu-embedded"


def main() -> None:
    torch.set_num_threads(2)
    hf = json.loads((TINY / "config.json").read_text())
    config = PanguConfig(
        vocab_size=hf["vocab_size"], hidden_size=hf["hidden_size"], intermediate_size=hf["intermediate_size"],
        num_hidden_layers=hf["num_hidden_layers"], num_attention_heads=hf["num_attention_heads"],
        num_key_value_heads=hf["num_key_value_heads"], rms_norm_eps=hf["rms_norm_eps"], rope_theta=hf["rope_theta"])
    weights = {k: torch.from_numpy(v.copy()) for k, v in read_bf16_as_f32(TINY / "model.safetensors").items()}
    lm_head = weights.pop("lm_head.weight")
    model = PanguEmbeddedForCausalLM(config).eval()
    model.load_state_dict(weights, strict=True)
    reference = json.loads((TINY / "reference.json").read_text())
    worst, failures = 0.0, []
    with torch.no_grad():
        for case in reference["cases"]:
            logits = model.final_hidden(torch.tensor([case["input_ids"]]))[0] @ lm_head.t()
            expected = torch.tensor(case["last_logits"])
            worst = max(worst, float((logits[-1] - expected).abs().max()))
            top10 = torch.topk(logits, 10, dim=-1).indices.tolist()
            if top10 != case["top10_ids_per_position"]:
                failures.append(f"{case['name']}: top-10 ids differ")
            ids = list(case["input_ids"])
            for _ in range(len(case["greedy"]["ids"])):
                ids.append(int(torch.argmax(model.final_hidden(torch.tensor([ids]))[0, -1] @ lm_head.t())))
            if ids[len(case["input_ids"]):] != case["greedy"]["ids"]:
                failures.append(f"{case['name']}: greedy ids differ")
    print(f"max |logit - reference| over last positions: {worst:.3g} (tolerance 1e-4)")
    if worst > 1e-4 or failures:
        raise SystemExit(f"architecture check FAILED: {failures}")
    print(f"architecture check passed on {len(reference['cases'])} cases")


if __name__ == "__main__":
    main()
