"""Export stage: f32 training result -> the committed openPangu-Embedded-layout checkpoint.

Writes config.json, model.safetensors (bf16), tokenizer.model, tokenizer_config.json,
generation_config.json, reference.json and README.md into the output directory. Runnable alone:

    python Tools/train-demo-model/export.py [--work-dir DIR] [--output-dir DIR]
"""
from __future__ import annotations

import argparse
import json
import pathlib
import shutil

import sentencepiece as spm
import torch

import readme
from pangu_model import PanguConfig
from reference import build_reference, load_model
from safetensors_io import write_bf16
from tokenizer_training import BOS_ID, EOS_ID, UNK_ID, check_tokenizer

SAMPLE_PROMPT, SAMPLE_TEMPERATURE, SAMPLE_TOKENS, SAMPLE_SEED = "ROMEO:", 0.8, 200, 2024


def hf_config(config: PanguConfig) -> dict:
    """The same field set as openPangu-Embedded's config.json, with tied embeddings."""
    return {
        "architectures": ["PanguEmbeddedForCausalLM"],
        "attention_dropout": 0.0,
        "auto_map": {
            "AutoConfig": "configuration_openpangu_dense.PanguEmbeddedConfig",
            "AutoModel": "modeling_openpangu_dense.PanguEmbeddedModel",
            "AutoModelForCausalLM": "modeling_openpangu_dense.PanguEmbeddedForCausalLM",
        },
        "bias": True,
        "bos_token_id": BOS_ID,
        "eos_token_id": EOS_ID,
        "hidden_act": "silu",
        "hidden_size": config.hidden_size,
        "initializer_range": 0.02,
        "intermediate_size": config.intermediate_size,
        "max_position_embeddings": config.max_position_embeddings,
        "model_type": "PanguEmbedded",
        "num_attention_heads": config.num_attention_heads,
        "num_hidden_layers": config.num_hidden_layers,
        "num_key_value_heads": config.num_key_value_heads,
        "pad_token_id": UNK_ID,
        "rms_norm_eps": config.rms_norm_eps,
        "rope_theta": config.rope_theta,
        "tie_word_embeddings": True,
        "torch_dtype": "bfloat16",
        "transformers_version": "5.24.0",
        "use_cache": True,
        "vocab_size": config.vocab_size,
    }


TOKENIZER_CONFIG = {
    "add_bos_token": True,
    "add_eos_token": False,
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "pad_token": "<unk>",
    "clean_up_tokenization_spaces": False,
    "legacy": True,
    "model_max_length": 1024,
    "sp_model_kwargs": {},
    "tokenizer_class": "LlamaTokenizer",
}

GENERATION_CONFIG = {
    "bos_token_id": BOS_ID,
    "eos_token_id": EOS_ID,
    "pad_token_id": UNK_ID,
    "do_sample": True,
    "temperature": SAMPLE_TEMPERATURE,
    "top_p": 1.0,
    "max_new_tokens": 200,
}


@torch.no_grad()
def sample(model, sp, prompt: str, temperature: float, num_tokens: int, seed: int) -> str:
    """Temperature sampling over the full vocabulary with a seeded generator; returns prompt + continuation."""
    generator = torch.Generator().manual_seed(seed)
    ids = [BOS_ID] + sp.encode(prompt)
    start = len(ids)
    for _ in range(num_tokens):
        logits = model(torch.tensor([ids[-1024:]]))[0, -1].double()
        probs = torch.softmax(logits / temperature, dim=-1)
        ids.append(int(torch.multinomial(probs, 1, generator=generator)))
    return prompt + sp.decode(ids[start:])


def write_json(path: pathlib.Path, value: dict, indent: int | None = 2) -> None:
    path.write_text(json.dumps(value, indent=indent, ensure_ascii=False) + "\n", encoding="utf-8")


def export(work_dir: pathlib.Path, output_dir: pathlib.Path) -> None:
    import train  # the evaluation helpers and corpus split of the training stage

    log = json.loads((work_dir / "train_log.json").read_text())
    config = PanguConfig(**log["config"])
    state = torch.load(work_dir / "model_f32.pt", map_location="cpu")
    output_dir.mkdir(parents=True, exist_ok=True)
    model_proto = (work_dir / "tokenizer.model").read_bytes()
    text = train.read_corpus()
    sp = check_tokenizer(model_proto, text)

    write_bf16(output_dir / "model.safetensors", state)
    shutil.copyfile(work_dir / "tokenizer.model", output_dir / "tokenizer.model")
    write_json(output_dir / "config.json", hf_config(config))
    write_json(output_dir / "tokenizer_config.json", TOKENIZER_CONFIG)
    write_json(output_dir / "generation_config.json", GENERATION_CONFIG)

    reference = build_reference(output_dir, config, sp)
    write_json(output_dir / "reference.json", reference, indent=None)
    print(f"reference.json: cross-check {reference['cross_check']['max_relative_diff']}", flush=True)

    model = load_model(output_dir, config, torch.float32)
    train_text, val_text = train.split_train_validation(text)
    losses = {
        "val": train.evaluate(model, train.eval_segments(sp, val_text, train.SEQ_LEN)),
        "train": train.evaluate(model, train.eval_segments(sp, train_text, train.SEQ_LEN)[::8]),
    }
    print(f"bf16 checkpoint losses: {losses}", flush=True)
    samples = [sample(model, sp, SAMPLE_PROMPT, SAMPLE_TEMPERATURE, SAMPLE_TOKENS, SAMPLE_SEED + i) for i in range(2)]
    for s in samples:
        print(s, "\n-----", flush=True)
    facts = readme.Facts(
        config=hf_config(config), log=log, bf16_losses=losses, samples=samples,
        greedy_romeo=reference["cases"][0]["greedy"]["text"],
        num_bytes=(output_dir / "model.safetensors").stat().st_size,
        chars_per_token=len(text) / len(sp.encode(text)), cross_check=reference["cross_check"]["max_relative_diff"],
        sample_settings=(SAMPLE_PROMPT, SAMPLE_TEMPERATURE, SAMPLE_TOKENS, SAMPLE_SEED),
        newline_pieces=[p for p in map(sp.id_to_piece, range(sp.get_piece_size())) if "\n" in p and p != "\n"],
        newline_id=sp.piece_to_id("\n"),
        byte_first_id=sp.piece_to_id("<0x00>"),
    )
    (output_dir / "README.md").write_text(readme.render(facts), encoding="utf-8")
    print(f"wrote {output_dir}", flush=True)


def main() -> None:
    import train

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work-dir", type=pathlib.Path, default=pathlib.Path("/tmp/pangu-tiny-shakespeare-work"))
    parser.add_argument("--output-dir", type=pathlib.Path, default=train.OUTPUT_DIR)
    args = parser.parse_args()
    torch.set_num_threads(2)
    export(args.work_dir, args.output_dir)


if __name__ == "__main__":
    main()
