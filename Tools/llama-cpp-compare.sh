#!/usr/bin/env bash
# Same-machine comparison of PanguServe's CPU worker with llama.cpp, on the same
# GGUF files and the same cores, plus a greedy-generation interoperability check.
#
#   Tools/llama-cpp-compare.sh [--llama-src SDIST.tgz|LLAMA_CPP_DIR] [--build-dir DIR]
#       [--model-dir DIR] [--work-dir DIR] [--arch llama|pangu-embedded] [--threads 1,2]
#       [--reps N] [--lock FILE] [--only STEP,STEP...] [--types bf16,q8_0,q4_0[,q4_k_m]]
#
# Steps (all by default, in this order):
#   build      llama.cpp's llama-bench, llama-quantize, llama-simple, llama-tokenize and a
#              small greedy tool printing token ids (built from this script's own source
#              against libllama), CPU only, Release, -DGGML_NATIVE=ON -DGGML_OPENMP=ON,
#              `nice -n 19`, -j$JOBS (default 2); skipped when the binaries exist.
#              SDIST may be llama-cpp-python's sdist (which vendors llama.cpp).
#   convert    MODEL_DIR (safetensors) -> WORK/model-ARCH-bf16.gguf with Tools/convert-to-gguf.py
#   quantize   -> each of TYPES but bf16 (q8_0, q4_0, q4_k_m) with `llama-quantize --pure`
#              (every matrix in the named type, so both programs read exactly the same
#              tensors; without --pure llama.cpp keeps the tied embedding/output matrix in
#              Q6_K); q4_k_m without --pure: llama.cpp's default mix of Q4_K and Q6_K
#   bench      `llama-bench -p 512 -n 128 -t THREADS -r REPS` on bf16, Q8_0, Q4_0
#   modelbench PanguServe's ModelBench (release) on the same files: prefill 512, and decode of
#              1, 4 and 16 sequences after a 64-token context (tg128 averages a 64-token context);
#              bf16 twice: with bf16 activations (the default, as llama.cpp computes bf16), then
#              with --activations f32
#   interop    tiny-pangu-embedded -> GGUF (pangu-embedded and llama; f32 and bf16), greedy
#              ids of its reference prompts from llama.cpp and from `pangu-serve generate
#              --json`, compared with each other and with reference.json (f32 files should
#              agree exactly; llama.cpp rounds activations to bf16 for bf16 matrices)
#   summary    prints the figures collected under WORK/logs
#
# Every timed run goes through `flock LOCK` so it never overlaps other measurements,
# and nothing else is built while timing. Logs: WORK/logs/*.txt.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

LLAMA_SRC=/work/llamacpp/llama.tgz
BUILD_DIR=/work/llamacpp/build
MODEL_DIR=/tmp/pangu-1b-random
WORK=/tmp/llama-cpp-compare
ARCH=llama
THREADS=1,2
REPS=2
LOCK=/work/bench.lock
JOBS=${JOBS:-2}
STEPS=build,convert,quantize,bench,modelbench,interop,summary
INTEROP_MODEL=$ROOT/../shared/data/models/tiny-pangu-embedded
TYPES="bf16 q8_0 q4_0"

usage() { sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
    case $1 in
        --llama-src) LLAMA_SRC=$2; shift 2 ;;
        --build-dir) BUILD_DIR=$2; shift 2 ;;
        --model-dir) MODEL_DIR=$2; shift 2 ;;
        --work-dir) WORK=$2; shift 2 ;;
        --arch) ARCH=$2; shift 2 ;;
        --threads) THREADS=$2; shift 2 ;;
        --reps) REPS=$2; shift 2 ;;
        --lock) LOCK=$2; shift 2 ;;
        --only) STEPS=$2; shift 2 ;;
        --types) TYPES=${2//,/ }; shift 2 ;;
        -h|--help) usage 0 ;;
        *) echo "unknown option $1" >&2; usage 2 ;;
    esac
done
BIN=$BUILD_DIR/bin
LOGS=$WORK/logs
mkdir -p "$WORK" "$LOGS"
wants() { [[ ",$STEPS," == *",$1,"* ]]; }
say() { printf '\n== %s\n' "$*"; }
gguf() { echo "$WORK/model-$ARCH-$1.gguf"; }

# ---------------------------------------------------------------- build
llama_source_dir() {  # prints the llama.cpp source directory (unpacking an sdist once)
    local src=$LLAMA_SRC
    if [ -f "$src" ]; then
        local dest=$BUILD_DIR/src
        if [ ! -d "$dest" ]; then
            mkdir -p "$dest" && tar -xzf "$src" -C "$dest"
        fi
        src=$dest
    fi
    local dir
    for dir in "$src" "$src"/vendor/llama.cpp "$src"/*/vendor/llama.cpp "$src"/*; do
        if [ -f "$dir/CMakeLists.txt" ] && [ -f "$dir/include/llama.h" ]; then echo "$dir"; return; fi
    done
    echo "no llama.cpp source (CMakeLists.txt + include/llama.h) under $LLAMA_SRC" >&2
    exit 1
}

build_tools() {  # cmake + ninja from PATH, else from a private venv
    if ! command -v cmake >/dev/null || ! command -v ninja >/dev/null; then
        if [ ! -x "$BUILD_DIR/venv/bin/cmake" ]; then
            python3 -m venv "$BUILD_DIR/venv"
            "$BUILD_DIR/venv/bin/pip" install -q cmake ninja
        fi
        export PATH=$BUILD_DIR/venv/bin:$PATH
    fi
}

write_greedy_tool() {  # $1 = output .cpp: prompt text -> greedy ids as JSON, EOS not special
    cat > "$1" <<'CPP'
// Greedy ids of one prompt, for comparing engines token for token:
//   llama-greedy-ids MODEL.gguf NUM_TOKENS THREADS PROMPT
// prints {"prompt_ids":[...],"ids":[...]} (BOS added as the vocabulary says; EOS does not stop).
#include "llama.h"
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

static void fill(llama_batch_ext * batch, const std::vector<llama_token> & ids, llama_pos first) {
    llama_batch_ext_clear(batch);
    for (size_t i = 0; i < ids.size(); ++i) {
        const int32_t slot = llama_batch_ext_add_token(batch, 0, ids[i]);
        const llama_pos pos = first + (llama_pos) i;
        llama_batch_ext_set_pos(batch, slot, &pos);
    }
    llama_batch_ext_set_output_logits(batch, (int32_t) ids.size() - 1, true);
}

static void print_ids(const char * key, const std::vector<llama_token> & ids) {
    printf("\"%s\":[", key);
    for (size_t i = 0; i < ids.size(); ++i) printf(i ? ",%d" : "%d", ids[i]);
    printf("]");
}

int main(int argc, char ** argv) {
    if (argc != 5) { fprintf(stderr, "usage: %s MODEL.gguf NUM_TOKENS THREADS PROMPT\n", argv[0]); return 2; }
    const int num_tokens = atoi(argv[2]);
    const std::string prompt = argv[4];
    llama_log_set([](ggml_log_level, const char *, void *) {}, nullptr);
    llama_backend_init();
    llama_model * model = llama_model_load_from_file(argv[1], llama_model_default_params());
    if (!model) { fprintf(stderr, "cannot load %s\n", argv[1]); return 1; }
    const llama_vocab * vocab = llama_model_get_vocab(model);
    const int n = -llama_tokenize(vocab, prompt.data(), (int32_t) prompt.size(), nullptr, 0, true, false);
    std::vector<llama_token> prompt_ids(n);
    llama_tokenize(vocab, prompt.data(), (int32_t) prompt.size(), prompt_ids.data(), n, true, false);
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n + num_tokens;
    cp.n_batch = n;
    cp.n_threads = cp.n_threads_batch = atoi(argv[3]);
    llama_context * ctx = llama_init_from_model(model, cp);
    llama_sampler * greedy = llama_sampler_init_greedy();
    llama_batch_ext * batch = llama_batch_ext_init(ctx);
    std::vector<llama_token> ids, pending = prompt_ids;
    llama_pos pos = 0;
    while ((int) ids.size() < num_tokens) {
        fill(batch, pending, pos);
        if (llama_process(ctx, LLAMA_PROCESS_TYPE_DECODE, batch)) { fprintf(stderr, "decode failed\n"); return 1; }
        pos += (llama_pos) pending.size();
        const llama_token next = llama_sampler_sample(greedy, ctx, -1);
        ids.push_back(next);
        pending = {next};
    }
    printf("{");
    print_ids("prompt_ids", prompt_ids);
    printf(",");
    print_ids("ids", ids);
    printf("}\n");
    llama_batch_ext_free(batch);
    llama_sampler_free(greedy);
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
CPP
}

step_build() {
    local tools=(llama-bench llama-quantize llama-simple llama-tokenize)
    local missing=0 t
    for t in "${tools[@]}" llama-greedy-ids; do [ -x "$BIN/$t" ] || missing=1; done
    if [ $missing = 0 ]; then say "llama.cpp tools already built in $BIN"; return; fi
    local src; src=$(llama_source_dir)
    build_tools
    say "building llama.cpp from $src into $BUILD_DIR (nice 19, -j$JOBS)"
    local start=$SECONDS
    nice -n 19 cmake -S "$src" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
        -DLLAMA_CURL=OFF -DGGML_OPENMP=ON -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF \
        -DLLAMA_BUILD_SERVER=OFF >"$LOGS/cmake.txt"
    nice -n 19 ninja -C "$BUILD_DIR" -j "$JOBS" "${tools[@]}" >"$LOGS/ninja.txt"
    write_greedy_tool "$BUILD_DIR/llama-greedy-ids.cpp"
    local libs; libs=$(find "$BUILD_DIR/src" "$BUILD_DIR/ggml/src" -name 'lib*.a' | sort)
    # libllama first, then ggml's backends before ggml-base (static link order)
    nice -n 19 g++ -O2 -std=c++17 -fopenmp -I"$src/include" -I"$src/ggml/include" \
        "$BUILD_DIR/llama-greedy-ids.cpp" -o "$BIN/llama-greedy-ids" \
        "$BUILD_DIR/src/libllama.a" $(echo "$libs" | grep -v libllama) $(echo "$libs" | grep -v libllama) -lpthread
    echo "built in $((SECONDS - start)) s: $(ls "$BIN" | tr '\n' ' ')"
}

# ---------------------------------------------------------------- convert / quantize
step_convert() {
    local out; out=$(gguf bf16)
    if [ -f "$out" ]; then say "have $out"; return; fi
    say "converting $MODEL_DIR -> $out (--arch $ARCH)"
    nice -n 19 python3 "$ROOT/Tools/convert-to-gguf.py" "$MODEL_DIR" "$out" --arch "$ARCH" --outtype bf16
}

step_quantize() {
    local type
    for type in $TYPES; do
        [ "$type" = bf16 ] && continue
        local out; out=$(gguf $type)
        if [ -f "$out" ]; then say "have $out"; continue; fi
        local pure=--pure  # Q4_K_M is a mix by definition (Q6_K for some matrices), as users get it
        [ "$type" = q4_k_m ] && pure=
        say "llama-quantize $pure $(gguf bf16) -> ${type^^}"
        nice -n 19 "$BIN/llama-quantize" $pure "$(gguf bf16)" "$out" "${type^^}" "$JOBS" >"$LOGS/quantize-$type.txt" 2>&1 \
            || { echo "llama-quantize failed (see $LOGS/quantize-$type.txt)"; rm -f "$out"; }
    done
}

# ---------------------------------------------------------------- timing
step_bench() {
    local type
    for type in $TYPES; do
        local file; file=$(gguf $type)
        [ -f "$file" ] || { echo "no $file: skipped"; continue; }
        say "llama-bench $type (threads $THREADS, reps $REPS)"
        flock "$LOCK" "$BIN/llama-bench" -m "$file" -p 512 -n 128 -t "$THREADS" -r "$REPS" -o md \
            2>"$LOGS/llama-bench-$type.err" | tee "$LOGS/llama-bench-$type.txt" \
            || echo "llama-bench failed on $type (see $LOGS/llama-bench-$type.err)"
    done
}

step_modelbench() {
    say "swift build -c release --product ModelBench (before any timing)"
    (cd "$ROOT" && nice -n 19 swift build -c release --product ModelBench -j "$JOBS" 2>&1 | tail -3)
    local type
    for type in $TYPES; do
        local file; file=$(gguf $type)
        [ -f "$file" ] || { echo "no $file: skipped"; continue; }
        modelbench_run "$type" "$file"
        # bf16 again with f32 activations (the default rounds them to bf16, as llama.cpp does)
        [ "$type" = bf16 ] && modelbench_run bf16-f32 "$file" --activations f32
    done
}

# modelbench_run NAME FILE [FLAGS...]: one ModelBench run, logged as modelbench-NAME.txt.
modelbench_run() {
    local name=$1 file=$2; shift 2
    say "ModelBench $name (threads $THREADS, reps $REPS)"
    if ! flock "$LOCK" "$ROOT/.build/release/ModelBench" "$file" --threads "$THREADS" --prompt 512 \
        --batches 1,4,16 --context 64 --steps 16 --reps "$REPS" "$@" >"$LOGS/modelbench-$name.txt" 2>&1; then
        echo "PanguServe could not run $name: $(grep -m1 'cannot load' "$LOGS/modelbench-$name.txt" \
            || tail -1 "$LOGS/modelbench-$name.txt")"
    fi
    cat "$LOGS/modelbench-$name.txt"
}

# ---------------------------------------------------------------- interop
step_interop() {
    [ -d "$INTEROP_MODEL" ] || { echo "no $INTEROP_MODEL: interop skipped"; return; }
    (cd "$ROOT" && nice -n 19 swift build --product pangu-serve -j "$JOBS" 2>&1 | tail -1)
    local arch outtype
    for arch in pangu-embedded llama; do
        for outtype in f32 bf16; do
            python3 "$ROOT/Tools/convert-to-gguf.py" "$INTEROP_MODEL" "$WORK/tiny-$arch-$outtype.gguf" \
                --arch "$arch" --outtype "$outtype" >/dev/null
        done
    done
    say "interop: tiny-pangu-embedded's reference prompts, 40 greedy ids, llama.cpp vs PanguServe vs reference.json"
    python3 - "$WORK" "$BIN/llama-greedy-ids" "$ROOT/.build/debug/pangu-serve" "$INTEROP_MODEL/reference.json" \
        <<'PY' | tee "$LOGS/interop.txt"
import json, subprocess, sys
work, llama, serve, reference = sys.argv[1:5]
cases = json.load(open(reference))["cases"]

def run(argv):
    p = subprocess.run(argv, capture_output=True, text=True)
    if p.returncode != 0:
        return {"error": (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[-1]}
    return json.loads(p.stdout.strip().splitlines()[-1])

def first_difference(a, b):
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), None if len(a) == len(b) else min(len(a), len(b)))

for arch in ("pangu-embedded", "llama"):
    for outtype in ("f32", "bf16"):
        path = f"{work}/tiny-{arch}-{outtype}.gguf"
        print(f"-- {arch} {outtype}: {path}")
        for case in cases:
            num = len(case["greedy"]["ids"])
            theirs = run([llama, path, str(num), "2", case["text"]])
            # an empty prompt is BOS alone; pangu-serve takes it as ids (its --prompt must be non-empty)
            prompt = ["--prompt", case["text"]] if case["text"] else ["--prompt-ids", "1"]
            flags = prompt + ["--max-tokens", str(num), "--temperature", "0", "--ignore-eos", "--threads", "2", "--json"]
            ours = run([serve, "generate", "--model", path] + flags)
            line = f"  {case['name']:<13}"
            if "error" in theirs or "error" in ours:
                for who, r in (("llama.cpp", theirs), ("PanguServe", ours)):
                    if "error" in r:
                        line += f" {who} failed: {r['error'][:150]};"
                print(line)
                continue
            prompt_ok = theirs["prompt_ids"] == ours["prompt_ids"] == case["input_ids"]
            d = first_difference(theirs["ids"], ours["ids"])
            ref = [first_difference(r["ids"], case["greedy"]["ids"]) for r in (theirs, ours)]
            line += f" prompt ids {'equal (3 ways)' if prompt_ok else 'DIFFER'};"
            line += " greedy llama.cpp == PanguServe" if d is None else f" greedy differ from position {d}"
            line += "; vs reference: llama.cpp %s, PanguServe %s" % tuple(
                "equal" if x is None else f"differs at {x}" for x in ref)
            print(line)
            if not prompt_ok:
                print(f"    reference {case['input_ids']}\n    llama.cpp {theirs['prompt_ids']}\n    ours      {ours['prompt_ids']}")
PY
}

# ---------------------------------------------------------------- summary
step_summary() {
    say "summary (tokens/s; llama.cpp mean from llama-bench, PanguServe best-of-N wall)"
    python3 - "$LOGS" "$TYPES" <<'PY'
import re, sys, pathlib
logs, types = pathlib.Path(sys.argv[1]), sys.argv[2].split()
print("| type | program | threads | pp512 | tg128 (ModelBench: decode after 64) |")
print("|---|---|---|---|---|")
for t in types:
    f = logs / f"llama-bench-{t}.txt"
    rows = {}
    if f.exists():
        for line in f.read_text().splitlines():
            cells = [c.strip() for c in line.strip("|").split("|")]
            if len(cells) >= 7 and cells[-2] in ("pp512", "tg128"):
                rows.setdefault(cells[-3], {})[cells[-2]] = cells[-1]
    for threads, r in sorted(rows.items()):
        print(f"| {t} | llama.cpp | {threads} | {r.get('pp512', '-')} | {r.get('tg128', '-')} |")
    for name, program in ((t, "PanguServe"), (t + "-f32", "PanguServe --activations f32")):
        f = logs / f"modelbench-{name}.txt"
        if not f.exists():
            continue
        text = f.read_text()
        if "cannot load" in text:
            print(f"| {t} | {program} | - | not loadable | {text.split('cannot load', 1)[1].strip()[:120]} |")
        for block in re.split(r"(?m)^== ", text)[1:]:
            threads = block.split()[0]
            pp = re.search(r"prefill \d+: wall [\d.]+ s ([\d.]+) tok/s", block)
            tg = re.search(r"decode batch +1: wall ([\d.]+) tok/s", block)
            if pp or tg:
                print(f"| {t} | {program} | {threads} | {pp.group(1) if pp else '-'} | {tg.group(1) if tg else '-'} |")
PY
}

for step in build convert quantize bench modelbench interop summary; do
    if wants $step; then "step_$step"; fi
done
