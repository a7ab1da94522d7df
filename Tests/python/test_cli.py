"""The pangu-serve command line: generate reproduces the reference, bad input exits 2 with one line."""
import json
import subprocess

import pytest

from conftest import BINARY, MODEL


def run(*args):
    if not BINARY.exists() or not MODEL.exists():
        pytest.skip("binary or shared data absent")
    return subprocess.run([str(BINARY), *args], capture_output=True, text=True, timeout=120)


def reference():
    if not MODEL.exists():
        pytest.skip(f"{MODEL} is absent")
    return json.loads((MODEL / "reference.json").read_text())


def test_generate_json_matches_reference_greedy():
    case = next(c for c in reference()["cases"] if c["name"] == "pangram")
    ids = ",".join(map(str, case["input_ids"]))
    r = run("generate", "--model", str(MODEL), "--prompt-ids", ids, "--max-tokens", "40", "--ignore-eos", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["prompt_ids"] == case["input_ids"]
    assert out["ids"] == case["greedy"]["ids"]


def test_generate_text_prompt_tokenizes_with_bos():
    case = next(c for c in reference()["cases"] if c["name"] == "hello")
    r = run("generate", "--model", str(MODEL), "--prompt", case["text"], "--max-tokens", "5", "--json",
            "--ignore-eos")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["prompt_ids"] == case["input_ids"] and out["ids"] == case["greedy"]["ids"][:5]


def test_seeded_sampling_is_reproducible():
    args = ("generate", "--model", str(MODEL), "--prompt", "Hello", "--max-tokens", "12", "--temperature", "1",
            "--seed", "42", "--json", "--ignore-eos")
    a, b = run(*args), run(*args)
    assert a.returncode == 0 and json.loads(a.stdout)["ids"] == json.loads(b.stdout)["ids"]


@pytest.mark.parametrize("args", [
    ("generate", "--model", "/nonexistent", "--prompt", "x"),
    ("generate", "--model", str(MODEL), "--prompt", "x", "--top-p", "7"),
    ("generate", "--model", str(MODEL), "--prompt-ids", "1,a"),
    ("generate", "--model", str(MODEL), "--prompt-ids", "99999999"),
    ("generate", "--model", str(MODEL), "--prompt", "x", "--quantize", "q4_1"),
    ("generate", "--bogus"),
    ("serve", "--port", "http"),
    ("frobnicate",),
])
def test_bad_arguments_exit_2_with_one_line(args):
    r = run(*args)
    assert r.returncode == 2
    assert r.stderr.startswith("pangu-serve: ") and r.stderr.count("\n") == 1
