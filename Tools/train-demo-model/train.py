"""Trains the embedded demo model `pangu-tiny-shakespeare` and writes its checkpoint.

Stages: SentencePiece tokenizer -> PanguEmbedded decoder on Tiny Shakespeare -> bf16 checkpoint in the
openPangu-Embedded layout, reference.json and README.md (export.py). Seeded; run it niced on 2 threads:

    nice -n 10 python Tools/train-demo-model/train.py

The f32 weights and the training log go to --work-dir, so export.py can be re-run without training.
"""
from __future__ import annotations

import argparse
import json
import os
import math
import pathlib
import random
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch starts OpenMP: no spinning on a busy machine

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from corpus import REPO_ROOT, paragraph_starts, read_corpus, split_train_validation  # noqa: E402
from pangu_model import PanguConfig, PanguEmbeddedForCausalLM  # noqa: E402
from tokenizer_training import BOS_ID, VOCAB_SIZE, check_tokenizer, train_tokenizer  # noqa: E402

SEED = 1234
MODEL = PanguConfig(
    vocab_size=VOCAB_SIZE,
    hidden_size=192,
    intermediate_size=512,
    num_hidden_layers=4,
    num_attention_heads=6,
    num_key_value_heads=2,
    max_position_embeddings=1024,
    rms_norm_eps=1e-5,
    rope_theta=10000.0,
)
SEQ_LEN = 256  # tokens per training window, BOS excluded
BATCH_SIZE = 16
NUM_STEPS = 400
PEAK_LR, MIN_LR, WARMUP_STEPS = 3e-3, 3e-4, 20
WEIGHT_DECAY, GRAD_CLIP = 0.1, 1.0
EVAL_EVERY, NUM_EVAL_SEGMENTS = 50, 24
OUTPUT_DIR = REPO_ROOT / "Sources" / "PanguServe" / "Resources" / "pangu-tiny-shakespeare"


def paragraph_windows(sp, text: str, length: int) -> torch.Tensor:
    """[num_windows, length + 1]: BOS + SentencePiece(text from a paragraph start), one row per start.

    Each window is encoded on its own, exactly as a served prompt is (dummy prefix on its first word).
    Starts whose remaining text is too short to fill a window are dropped.
    """
    rows = []
    for start in paragraph_starts(text):
        ids = sp.encode(text[start:start + 6 * length])
        if len(ids) >= length:
            rows.append([BOS_ID] + ids[:length])
    return torch.tensor(rows, dtype=torch.long)


def eval_segments(sp, text: str, length: int) -> list[tuple[list[int], int]]:
    """Splits text into runs of whole paragraphs that fit `length` tokens; (BOS + ids, num chars) each.

    The characters of all segments add up to len(text), so total nats / total chars is a per-character loss.
    """
    starts = paragraph_starts(text) + [len(text)]
    segments, i = [], 0
    while i < len(starts) - 1:
        j = i + 1
        while j + 1 < len(starts) and len(sp.encode(text[starts[i]:starts[j + 1]])) <= length:
            j += 1
        piece = text[starts[i]:starts[j]]
        ids = sp.encode(piece)
        if len(ids) > length:  # one paragraph longer than a window: score only what fits
            ids = ids[:length]
            piece = sp.decode(ids)
        segments.append(([BOS_ID] + ids, len(piece)))
        i = j
    return segments


@torch.no_grad()
def evaluate(model, segments) -> dict:
    """Total nats over every token of every segment (BOS only as input) -> loss per token and per char."""
    model.eval()
    nats, tokens, chars = 0.0, 0, 0
    for ids, num_chars in segments:
        x = torch.tensor([ids])
        logits = model(x[:, :-1])
        nats += F.cross_entropy(logits[0], x[0, 1:], reduction="sum").item()
        tokens += len(ids) - 1
        chars += num_chars
    model.train()
    return {"loss_per_token": nats / tokens, "loss_per_char": nats / chars, "num_tokens": tokens, "num_chars": chars}


def learning_rate(step: int) -> float:
    if step < WARMUP_STEPS:
        return PEAK_LR * (step + 1) / WARMUP_STEPS
    progress = (step - WARMUP_STEPS) / max(1, NUM_STEPS - WARMUP_STEPS)
    return MIN_LR + 0.5 * (PEAK_LR - MIN_LR) * (1 + math.cos(math.pi * progress))


def make_optimizer(model) -> torch.optim.Optimizer:
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=PEAK_LR, betas=(0.9, 0.95), eps=1e-8)


def train(work_dir: pathlib.Path) -> None:
    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    random.seed(SEED)
    work_dir.mkdir(parents=True, exist_ok=True)
    started = time.time()

    text = read_corpus()
    train_text, val_text = split_train_validation(text)
    model_proto = train_tokenizer(train_text, SEED)
    sp = check_tokenizer(model_proto, text)
    (work_dir / "tokenizer.model").write_bytes(model_proto)
    print(f"tokenizer: vocab {sp.get_piece_size()}, {len(text) / len(sp.encode(text)):.3f} chars/token, "
          f"train {len(train_text)} chars, validation {len(val_text)} chars", flush=True)

    windows = paragraph_windows(sp, train_text, SEQ_LEN)
    val_segments = eval_segments(sp, val_text, SEQ_LEN)
    train_segments = eval_segments(sp, train_text, SEQ_LEN)
    probe_rng = random.Random(SEED)
    train_probe = probe_rng.sample(train_segments, NUM_EVAL_SEGMENTS)
    val_probe = probe_rng.sample(val_segments, NUM_EVAL_SEGMENTS)
    print(f"{len(windows)} training windows, {len(val_segments)} validation segments", flush=True)

    model = PanguEmbeddedForCausalLM(MODEL)
    model.init_weights(torch.Generator().manual_seed(SEED))
    num_params = sum(p.numel() for p in model.parameters())
    print(f"model: {num_params} parameters, config {MODEL}", flush=True)
    optimizer = make_optimizer(model)
    batch_rng = torch.Generator().manual_seed(SEED + 1)
    history = []
    train_started = time.time()
    for step in range(NUM_STEPS):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step)
        batch = windows[torch.randint(len(windows), (BATCH_SIZE,), generator=batch_rng)]
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, MODEL.vocab_size), batch[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        optimizer.step()
        if step % 10 == 0:
            print(f"step {step} loss {loss.item():.4f} lr {learning_rate(step):.2e} "
                  f"{time.time() - train_started:.0f}s", flush=True)
        if (step + 1) % EVAL_EVERY == 0 or step + 1 == NUM_STEPS:
            tr, va = evaluate(model, train_probe), evaluate(model, val_probe)
            history.append({"step": step + 1, "train": tr, "val": va, "seconds": time.time() - train_started})
            print(f"eval step {step + 1}: train {tr['loss_per_token']:.4f}/tok {tr['loss_per_char']:.4f}/char, "
                  f"val {va['loss_per_token']:.4f}/tok {va['loss_per_char']:.4f}/char", flush=True)

    train_seconds = time.time() - train_started
    final_val, final_train = evaluate(model, val_segments), evaluate(model, train_segments[::8])
    print(f"final: val {final_val}, train (every 8th segment) {final_train}", flush=True)
    torch.save(model.state_dict(), work_dir / "model_f32.pt")
    log = {
        "seed": SEED, "config": MODEL.__dict__, "num_parameters": num_params, "seq_len": SEQ_LEN,
        "batch_size": BATCH_SIZE, "num_steps": NUM_STEPS, "peak_lr": PEAK_LR, "min_lr": MIN_LR,
        "warmup_steps": WARMUP_STEPS, "weight_decay": WEIGHT_DECAY, "num_threads": torch.get_num_threads(),
        "tokens_seen": NUM_STEPS * BATCH_SIZE * SEQ_LEN, "num_train_windows": len(windows),
        "train_chars": len(train_text), "val_chars": len(val_text),
        "train_seconds": train_seconds, "total_seconds": time.time() - started,
        "final_val_f32": final_val, "final_train_f32": final_train, "history": history,
        "torch_version": torch.__version__,
    }
    (work_dir / "train_log.json").write_text(json.dumps(log, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work-dir", type=pathlib.Path, default=pathlib.Path("/tmp/pangu-tiny-shakespeare-work"))
    parser.add_argument("--output-dir", type=pathlib.Path, default=OUTPUT_DIR)
    parser.add_argument("--skip-training", action="store_true", help="only export from --work-dir")
    args = parser.parse_args()
    if not args.skip_training:
        train(args.work_dir)
    import export  # noqa: E402  (export stage; also runnable on its own)
    export.export(args.work_dir, args.output_dir)


if __name__ == "__main__":
    main()
