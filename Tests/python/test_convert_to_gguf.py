"""Tools/convert-to-gguf.py's q8_0 / q4_0 output: llama.cpp's Q4_0 bytes on a hand-worked block, and
GGUF files that pangu-serve runs exactly like the checkpoint quantized at load (--quantize), and
config.json's llama3 rope_scaling written as llama.cpp's rope_freqs.weight."""
import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import BINARY, MODEL, ROOT

TOOL = ROOT / "Tools" / "convert-to-gguf.py"


def tool():
    spec = importlib.util.spec_from_file_location("convert_to_gguf", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_q4_0_block_matches_ggml_reference_bytes():
    # Same block as the Swift test: x_i = (i - 16) / 8; extreme -2 -> d = 0.25 (f16 0x3400), id = 4,
    # q_i = min(15, (i + 1) // 2); byte j = q_j | q_(j+16) << 4. Second block: all zeros -> d = -0.
    x = np.concatenate([(np.arange(32, dtype=np.float32) - 16) / 8, np.zeros(32, dtype=np.float32)])
    out = tool().quantize_q4_0(x.reshape(2, 32))
    q = [min(15, (i + 1) // 2) for i in range(32)]
    first = bytes([0x00, 0x34] + [q[j] | q[j + 16] << 4 for j in range(16)])
    assert out[:18] == first
    assert out[18:] == bytes([0x00, 0x80] + [0x88] * 16)


def test_q4_0_uses_the_f32_inverse_scale():
    # extreme -0.8 -> d = 0.1 (f16 0.099976); 0.6499 * (1 / 0.1) + 8.5 = 14.999 -> 14 (15 with the f16 scale).
    x = np.zeros(32, dtype=np.float32)
    x[0], x[1] = -0.8, 0.6499
    out = tool().quantize_q4_0(x.reshape(1, 32))
    assert out[:4] == bytes([0x66, 0x2E, 0x80, 0x8E])


def q4_0_scalar(block):
    """ggml's quantize_row_q4_0_ref for one block, written element by element in float32."""
    amax, mx = np.float32(0), np.float32(0)
    for v in block:
        if amax < abs(v):
            amax, mx = abs(v), v
    d = mx / np.float32(-8)
    inv = np.float32(1) / d if d != 0 else np.float32(0)
    q = [min(15, int(np.float32(v * inv) + np.float32(8.5))) for v in block]
    return np.float16(d).tobytes() + bytes(q[j] | q[j + 16] << 4 for j in range(16))


def test_q4_0_matches_an_element_by_element_reference_on_random_blocks():
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((64, 32)) * rng.uniform(1e-3, 4, (64, 1))).astype(np.float32)
    x[3, 20] = -np.abs(x[3]).max()  # ties: the first of equal magnitudes sets the sign
    x[3, 25] = -x[3, 20]
    out = tool().quantize_q4_0(x)
    assert out == b"".join(q4_0_scalar(row) for row in x)


def run(*args):
    return subprocess.run([str(BINARY), *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("outtype", ["q8_0", "q4_0"])
def test_quantized_gguf_generates_like_quantize_at_load(outtype, tmp_path):
    if not BINARY.exists() or not MODEL.exists():
        pytest.skip("binary or shared data absent")
    gguf = tmp_path / f"tiny-{outtype}.gguf"
    conv = subprocess.run([sys.executable, str(TOOL), str(MODEL), str(gguf), "--outtype", outtype],
                          capture_output=True, text=True, timeout=300)
    assert conv.returncode == 0, conv.stderr
    case = next(c for c in json.loads((MODEL / "reference.json").read_text())["cases"] if c["name"] == "pangram")
    ids = ",".join(map(str, case["input_ids"]))
    common = ("--prompt-ids", ids, "--max-tokens", "24", "--ignore-eos", "--json", "--threads", "2")
    from_gguf = run("generate", "--model", str(gguf), *common)
    at_load = run("generate", "--model", str(MODEL), "--quantize", outtype, *common)
    assert from_gguf.returncode == 0, from_gguf.stderr
    assert at_load.returncode == 0, at_load.stderr
    tokens = json.loads(at_load.stdout)["ids"]
    assert json.loads(from_gguf.stdout)["ids"] == tokens
    assert tokens != case["greedy"]["ids"][:24], "quantization should change this random model's greedy tokens"


LLAMA3_SCALING = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                  "original_max_position_embeddings": 512}


def test_llama3_rope_factors_cover_the_three_bands():
    # head_dim 16, theta 4e6: wavelengths 2*pi*4e6^(i/8) = 6.3, 42, 281, 1878, ...; bounds 512/4 and 512/1.
    # The third is between: smooth = (512/281.0 - 1) / 3 = 0.27404, factor 1 / ((1 - smooth)/8 + smooth).
    cfg = {"hidden_size": 64, "num_attention_heads": 4, "rope_theta": 4e6, "rope_scaling": LLAMA3_SCALING}
    factors = tool().llama3_rope_factors(cfg)
    assert factors.dtype == np.float32 and factors.shape == (8,)
    assert list(factors[:2]) == [1, 1] and list(factors[3:]) == [8] * 5
    assert factors[2] == pytest.approx(2.74134, rel=1e-4)


def test_unknown_rope_scaling_type_stops_the_conversion(tmp_path):
    if not MODEL.exists():
        pytest.skip("shared data absent")
    model = scaled_model(tmp_path, {"rope_type": "yarn", "factor": 4.0})
    conv = subprocess.run([sys.executable, str(TOOL), str(model), str(tmp_path / "x.gguf")],
                          capture_output=True, text=True, timeout=300)
    assert conv.returncode != 0 and "yarn" in conv.stderr


def scaled_model(tmp_path, rope_scaling):
    """tiny-pangu-embedded with `rope_scaling` in its config.json (other files linked)."""
    d = tmp_path / "tiny-scaled"
    d.mkdir()
    cfg = json.loads((MODEL / "config.json").read_text())
    cfg["rope_scaling"] = rope_scaling
    (d / "config.json").write_text(json.dumps(cfg))
    for name in ("model.safetensors", "tokenizer.model", "tokenizer_config.json"):
        (d / name).symlink_to(MODEL / name)
    return d


def test_llama3_scaled_gguf_generates_like_the_safetensors(tmp_path):
    if not BINARY.exists() or not MODEL.exists():
        pytest.skip("binary or shared data absent")
    model = scaled_model(tmp_path, LLAMA3_SCALING)
    gguf = tmp_path / "tiny-llama3.gguf"
    conv = subprocess.run([sys.executable, str(TOOL), str(model), str(gguf), "--outtype", "f32"],
                          capture_output=True, text=True, timeout=300)
    assert conv.returncode == 0, conv.stderr
    assert b"rope_freqs.weight" in gguf.read_bytes()
    case = next(c for c in json.loads((MODEL / "reference.json").read_text())["cases"] if c["name"] == "pangram")
    ids = ",".join(map(str, case["input_ids"]))
    common = ("--prompt-ids", ids, "--max-tokens", "24", "--ignore-eos", "--json", "--threads", "2")
    from_gguf = run("generate", "--model", str(gguf), *common)
    from_safetensors = run("generate", "--model", str(model), *common)
    assert from_gguf.returncode == 0, from_gguf.stderr
    assert from_safetensors.returncode == 0, from_safetensors.stderr
    tokens = json.loads(from_safetensors.stdout)["ids"]
    assert json.loads(from_gguf.stdout)["ids"] == tokens
    assert tokens != case["greedy"]["ids"][:24], "llama3 scaling should change this random model's greedy tokens"
