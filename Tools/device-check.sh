#!/usr/bin/env bash
# Runs on the machine to check, in the repository root, with .build-device/bundle.tar.xz from
# Tools/device-bundle.sh: the CPU's flags, the kernel and model tests on each kernel path
# (PANGU_KERNEL_ISA=amx, the default, avx2), then ModelBench's 512-token prefill and
# decode (1 and 16 sequences) of the openPangu-Embedded-1B shape in bf16, Q8_0 and Q4_0 on the AMX
# and default paths; output to stdout. With 1-sequence decode only it took 2 min 43 s on a Zen 3.
set -uo pipefail
cd "$(dirname "$0")/.."

bin=$(mktemp -d)
tar -C "$bin" -xJf .build-device/bundle.tar.xz
export LD_LIBRARY_PATH="$bin/lib"
grep -m1 "model name" /proc/cpuinfo
grep -m1 -o -w "avx512_vnni\|avx512_bf16\|amx_tile\|amx_int8\|amx_bf16" /proc/cpuinfo | sort -u | tr '\n' ' '
echo
for isa in amx default avx2; do
    echo "== tests PANGU_KERNEL_ISA=$isa"
    PANGU_KERNEL_ISA=$isa "$bin/PanguServePackageTests.xctest" --testing-library swift-testing \
        --filter 'TensorsTests|ModelsTests' 2>&1 | grep -E "✘|Test run" | head -20
done
python3 Tools/make-random-checkpoint.py /tmp/pangu-1b-random >/dev/null && echo "checkpoint: /tmp/pangu-1b-random"
for quantize in "" q8_0 q4_0; do
    for isa in amx default; do
        echo "== ModelBench ${quantize:-bf16} PANGU_KERNEL_ISA=$isa"
        PANGU_KERNEL_ISA=$isa "$bin/ModelBench" /tmp/pangu-1b-random --threads 2 --prompt 512 --batches 1,16 \
            --steps 4 --reps 2 ${quantize:+--quantize $quantize}
    done
done
