"""Renders the checkpoint's README.md from the measured facts of a training run and its export."""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class Facts:
    config: dict
    log: dict
    bf16_losses: dict
    samples: list[str]
    greedy_romeo: str
    num_bytes: int
    chars_per_token: float
    cross_check: float
    sample_settings: tuple
    newline_pieces: list[str]  # pieces other than "\n" itself that contain a newline
    newline_id: int
    byte_first_id: int  # id of <0x00>


def loss_row(name: str, loss: dict) -> str:
    return (f"| {name} | {loss['loss_per_token']:.4f} | {loss['loss_per_char']:.4f} | "
            f"{loss['num_tokens']} | {loss['num_chars']} |")


def fenced(text: str) -> str:
    return "```text\n" + text.rstrip("\n") + "\n```"


def newline_text(f: Facts) -> str:
    if not f.newline_pieces:
        return (f"`\\n` is a user-defined piece (id {f.newline_id}): it is never merged with its neighbours, so a prompt "
                "ending in `ROMEO:` is split exactly as the training text `ROMEO:\\n...` is.")
    shown = ", ".join("`" + p.replace("\n", "\\n") + "`" for p in f.newline_pieces[:4])
    return ("Newlines are ordinary characters: `\\n` is a piece and merged pieces such as " + shown +
            " exist, so a prompt that ends just before a newline is split differently from the training text.")


def render(f: Facts) -> str:
    c, log = f.config, f.log
    head_dim = c["hidden_size"] // c["num_attention_heads"]
    prompt, temperature, num_tokens, seed = f.sample_settings
    history = "\n".join(
        f"| {h['step']} | {h['train']['loss_per_token']:.3f} | {h['val']['loss_per_token']:.3f} | "
        f"{h['val']['loss_per_char']:.3f} | {h['seconds']:.0f} |" for h in log["history"])
    return f"""# pangu-tiny-shakespeare: the embedded demo model

A small language model trained from scratch on Tiny Shakespeare, in exactly the checkpoint layout of
Huawei's openPangu-Embedded (`PanguEmbeddedForCausalLM`, model_type `PanguEmbedded`, bf16 safetensors,
SentencePiece tokenizer). `pangu-serve` serves it out of the box as `pangu-tiny-shakespeare`. It writes
play-like text: speaker names, line breaks, mostly real words; it knows nothing else.

Produced by `Tools/train-demo-model/train.py` (seed {log['seed']}, torch {log['torch_version']} CPU,
{log['num_threads']} threads); see that folder's README to regenerate it. Nothing here was copied from
another model.

## Corpus
`shared/data/corpus/tinyshakespeare.txt` (1,115,394 characters of Shakespeare's plays, public domain).
Split: the first {log['train_chars']} characters train (tokenizer and model), the last {log['val_chars']}
characters (about 10 %, cut at a paragraph start) are held out for validation.

## Architecture and size
| field | value |
|---|---|
| layers | {c['num_hidden_layers']} |
| hidden size | {c['hidden_size']} |
| attention heads / KV heads | {c['num_attention_heads']} / {c['num_key_value_heads']} (GQA, head_dim {head_dim}) |
| MLP intermediate size | {c['intermediate_size']} (SwiGLU, no bias) |
| vocabulary | {c['vocab_size']} (SentencePiece BPE) |
| q/k/v/o bias | yes (`bias: true`) |
| embeddings | tied (`tie_word_embeddings: true`: there is no `lm_head.weight`; logits use `model.embed_tokens.weight`) |
| RMSNorm eps | {c['rms_norm_eps']} |
| RoPE | HF rotate-half over the whole head, rope_theta {c['rope_theta']} |
| parameters | {log['num_parameters']:,} |
| model.safetensors | {f.num_bytes:,} bytes (bf16) |
| context | trained on windows of {log['seq_len']} tokens (+ BOS); `max_position_embeddings` {c['max_position_embeddings']} |

The forward pass is the one of `shared/data/models/tiny-pangu-embedded/README.md`, except that the output
projection is the embedding matrix.

## Tokenizer (`tokenizer.model`)
SentencePiece BPE, {c['vocab_size']} pieces: `<unk>`=0, `<s>`=1 (BOS), `</s>`=2 (EOS), the 256 byte
pieces `<0x00>`..`<0xFF>` = ids {f.byte_first_id}..{f.byte_first_id + 255} (byte fallback), then the merged pieces. Identity normalization, no removal of
extra whitespace, dummy prefix on (`▁` before the first word), digits split. The trainer was fed
multi-paragraph chunks, so it saw the newlines. {newline_text(f)}
decode(encode(text)) == text on the whole corpus. {f.chars_per_token:.3f} characters per
token on the corpus. `tokenizer_config.json`: add_bos_token true, add_eos_token false. Pad = unk = 0.

## Training
{log['num_steps']} AdamW steps of {log['batch_size']} windows x {log['seq_len']} tokens
({log['tokens_seen']:,} tokens seen, about {log['tokens_seen'] / (log['train_chars'] / f.chars_per_token):.1f} passes over the training text),
learning rate {log['peak_lr']} after {log['warmup_steps']} warm-up steps, cosine to {log['min_lr']}, weight decay
{log['weight_decay']}, gradient clipping 1.0, no dropout. Each window is BOS followed by the text from a
paragraph start, encoded on its own, as a served prompt is. Training took {log['train_seconds'] / 60:.1f} minutes
({log['total_seconds'] / 60:.1f} with tokenizer and evaluation) on 2 shared CPU cores under `nice -n 10`.

| step | train loss/token (probe) | val loss/token (probe) | val loss/char (probe) | seconds |
|---|---|---|---|---|
{history}

## Final loss of this checkpoint (bf16 weights, f32 compute)
Validation text and every 8th training segment, each cut into runs of whole paragraphs of at most
{log['seq_len']} tokens, each run scored as BOS + its tokens (a single paragraph longer than that is scored
on its first {log['seq_len']} tokens and their characters only). Per character = total nats / number of
characters scored.

| split | nats per token | nats per character | tokens | characters |
|---|---|---|---|---|
{loss_row('train', f.bf16_losses['train'])}
{loss_row('validation', f.bf16_losses['val'])}

## Samples
Prompt `{prompt}`, temperature {temperature}, full vocabulary (no top-k/top-p), {num_tokens} new tokens,
`torch.Generator` seed {seed} and {seed + 1}; exactly what this checkpoint generated:

{fenced(f.samples[0])}

{fenced(f.samples[1])}

Greedy (argmax) from `ROMEO:` for 40 tokens (the `romeo` case in reference.json):

{fenced(prompt + f.greedy_romeo)}

## Files
| file | what |
|---|---|
| `config.json` | HF config, the field set of openPangu-Embedded's config.json |
| `model.safetensors` | bf16 tensors, HF names: `model.embed_tokens.weight`, `model.layers.N.self_attn.{{q,k,v,o}}_proj.{{weight,bias}}`, `model.layers.N.mlp.{{gate,up,down}}_proj.weight`, `model.layers.N.{{input,post_attention}}_layernorm.weight`, `model.norm.weight` |
| `tokenizer.model` | the SentencePiece model above |
| `tokenizer_config.json`, `generation_config.json` | BOS/EOS strings and ids; sampling defaults (temperature {temperature}) |
| `reference.json` | expected outputs for tests (below) |

## reference.json
The layout of `shared/data/models/tiny-pangu-embedded/reference.json`, computed by
`Tools/train-demo-model/reference.py` in float32 from the bf16 weights widened exactly to float32.
Top level: `format_version`, `model`, `producer`, `weights_file_sha256`, `vocab_size`, `bos_token_id`,
`eos_token_id`, `prompt_tokenization`, `logits_rounding`, `greedy_rule`, `top10_order`, `cases`,
`cross_check`. Each case: `name`, `note`, `text`, `input_ids` (BOS 1 first), `num_prompt_tokens`,
`last_logits` (all {c['vocab_size']} logits of the last prompt position, 6 significant digits),
`last_logits_argmax`, `last_logits_top10_ids`, `top10_ids_per_position`, `top10_logits_per_position`,
`greedy` (`num_new_tokens` 40, `ignore_eos`, `ids`, `text`, `top1_minus_top2_logit_per_step`,
`min_top1_minus_top2`). Cases: `romeo` (`ROMEO:`), `juliet_line`, `two_speeches`, `mid_sentence`.
`cross_check`: the same forward in float64 differs from the float32 logits by at most {f.cross_check}
of the largest logit. Tolerances as for tiny-pangu-embedded: about 1e-4 absolute on logits with float32
compute; greedy ids identical (see `min_top1_minus_top2`).
"""
