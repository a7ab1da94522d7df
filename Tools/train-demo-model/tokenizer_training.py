"""Trains and checks the SentencePiece BPE tokenizer of the demo model.

Settings: BPE, byte fallback, dummy prefix, digits split, identity normalization, no whitespace
collapsing. The trainer normally reads one sentence per line, which would hide every newline from it;
here it is fed multi-paragraph chunks through `sentence_iterator`, so "\n" is an ordinary character
and pieces such as ":\n" are learned. Each chunk is two consecutive paragraphs, so speaker names are
seen both at a text start (with the dummy-prefix "▁") and after a blank line (without it).
"""
from __future__ import annotations

import io

import sentencepiece as spm

from corpus import paragraphs

VOCAB_SIZE = 3072
# True: "\n" is a user-defined piece, never merged with its neighbours, so a prompt ending in ":" is
# tokenized as in training; False: "\n" is an ordinary character and merges (":\n", ".\n\n").
NEWLINE_AS_USER_SYMBOL = True
UNK_ID, BOS_ID, EOS_ID = 0, 1, 2


def training_chunks(train_text: str) -> list[str]:
    paras = paragraphs(train_text)
    return [paras[i] + (paras[i + 1] if i + 1 < len(paras) else "") for i in range(len(paras))]


def train_tokenizer(train_text: str, seed: int) -> bytes:
    """Returns the serialized ModelProto (the bytes of tokenizer.model)."""
    spm.set_random_generator_seed(seed)
    writer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(training_chunks(train_text)),
        model_writer=writer,
        model_type="bpe",
        vocab_size=VOCAB_SIZE,
        byte_fallback=True,
        add_dummy_prefix=True,
        split_digits=True,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        character_coverage=1.0,
        unk_id=UNK_ID,
        bos_id=BOS_ID,
        eos_id=EOS_ID,
        pad_id=-1,
        user_defined_symbols=["\n"] if NEWLINE_AS_USER_SYMBOL else [],
        max_sentence_length=1 << 20,
        num_threads=1,
        minloglevel=2,
    )
    return writer.getvalue()


def check_tokenizer(model_proto: bytes, text: str) -> spm.SentencePieceProcessor:
    """Verifies the properties the served model relies on; raises SystemExit on any mismatch."""
    sp = spm.SentencePieceProcessor(model_proto=model_proto)
    checks = {
        "unk id 0 is <unk>": sp.id_to_piece(UNK_ID) == "<unk>" and sp.unk_id() == UNK_ID,
        "bos id 1 is <s>": sp.id_to_piece(BOS_ID) == "<s>" and sp.bos_id() == BOS_ID,
        "eos id 2 is </s>": sp.id_to_piece(EOS_ID) == "</s>" and sp.eos_id() == EOS_ID,
        "no pad id": sp.pad_id() == -1,
        "newline has a piece": sp.piece_to_id("\n") != UNK_ID,
        "byte fallback pieces": sp.piece_to_id("<0x0A>") != UNK_ID,
        "newline round-trips": sp.decode(sp.encode("a\nb\n\nc")) == "a\nb\n\nc",
        "corpus round-trips": sp.decode(sp.encode(text)) == text,
        "unseen text round-trips": sp.decode(sp.encode("  two  spaces 2024 é ☃\t\n")) == "  two  spaces 2024 é ☃\t\n",
        "no unk on corpus": UNK_ID not in sp.encode(text),
    }
    failed = [name for name, ok in checks.items() if not ok]
    if failed:
        raise SystemExit(f"tokenizer check failed: {failed}")
    return sp
