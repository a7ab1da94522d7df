"""Corpus handling for the demo model: locating Tiny Shakespeare, the train/validation split, and
paragraph-aligned token windows.

The corpus is read from ../shared/data relative to the repository root and never copied into it.
Paragraphs are separated by a blank line ("\n\n"); every paragraph of the plays starts with a speaker
name ("ROMEO:\n..."), so windows that start at a paragraph start look exactly like a served prompt:
BOS, then SentencePiece(text) with its dummy prefix on the first word.
"""
from __future__ import annotations

import pathlib

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS_PATH = REPO_ROOT.parent / "shared" / "data" / "corpus" / "tinyshakespeare.txt"
VALIDATION_FRACTION = 0.10


def read_corpus(path: pathlib.Path = CORPUS_PATH) -> str:
    if not path.is_file():
        raise SystemExit(f"corpus not found at {path}: this tool needs ../shared/data beside the repository")
    return path.read_text(encoding="utf-8")


def paragraph_starts(text: str) -> list[int]:
    """Character offsets at which a paragraph begins (offset 0 and every position after a blank line)."""
    starts = [0]
    pos = text.find("\n\n")
    while pos != -1:
        nxt = pos + 2
        while nxt < len(text) and text[nxt] == "\n":
            nxt += 1
        if nxt < len(text):
            starts.append(nxt)
        pos = text.find("\n\n", nxt)
    return starts


def split_train_validation(text: str) -> tuple[str, str]:
    """Train = first ~90 % of the text, validation = the rest, cut at the paragraph start nearest 90 %."""
    target = int(len(text) * (1.0 - VALIDATION_FRACTION))
    cut = min(paragraph_starts(text), key=lambda s: abs(s - target))
    return text[:cut], text[cut:]


def paragraphs(text: str) -> list[str]:
    """Paragraph texts including their trailing newlines, so that "".join(paragraphs(t)) == t."""
    starts = paragraph_starts(text)
    ends = starts[1:] + [len(text)]
    return [text[s:e] for s, e in zip(starts, ends)]
