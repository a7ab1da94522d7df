#!/usr/bin/env bash
# The kernels' AVX-512 VNNI and AMX paths, emulated on this CPU (Sources/CKernels/emulated_isa.h):
# the kernel and model tests once on each. Part of Tools/test.sh; needs SIMDe (Debian: libsimde-dev).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f /usr/include/simde/x86/avx512.h ]; then
    echo "emulated AVX-512 / AMX kernel tests skipped: SIMDe is not installed (apt-get install libsimde-dev)"
    exit 0
fi
if ! grep -qw avx2 /proc/cpuinfo; then
    echo "emulated AVX-512 / AMX kernel tests skipped: the emulation runs on AVX2, which this CPU lacks"
    exit 0
fi
export PANGU_EMULATE_ISA=1
swift build --build-tests --scratch-path .build-emulated
for isa in avx512 amx; do
    echo "== kernel and model tests, emulated PANGU_KERNEL_ISA=$isa"
    PANGU_KERNEL_ISA=$isa swift test --skip-build --scratch-path .build-emulated --filter 'TensorsTests|ModelsTests'
done
