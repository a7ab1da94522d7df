#!/usr/bin/env bash
# Builds the HTTP1 parser sources with a libFuzzer entry point and fuzzes for N seconds (default 60).
# Usage: Tests/Fuzz/run.sh [seconds]        (run from anywhere; needs swiftc with -sanitize=fuzzer, Linux)
# Crashing inputs are written to .build/fuzz/artifacts/; keep each as a regression case in
# Tests/HTTP1Tests/FuzzRegressionTests.swift.
set -euo pipefail
seconds="${1:-60}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/.build/fuzz"
mkdir -p "$out/artifacts" "$out/corpus"
cp -n "$root"/Tests/Fuzz/corpus/* "$out/corpus/" 2>/dev/null || true
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name HTTP1Fuzz \
    "$root"/Sources/HTTP1/*.swift "$root/Tests/Fuzz/ParserFuzzer.swift" -o "$out/http1-fuzz"
export SWIFT_BACKTRACE=enable=no
# Replay the kept crash inputs first (each must now pass), then fuzz.
"$out/http1-fuzz" "$root"/Tests/Fuzz/regressions/*
"$out/http1-fuzz" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
    -artifact_prefix="$out/artifacts/" "$out/corpus"
