#!/usr/bin/env bash
# The project's test command (the README's second command; CI runs exactly this).
# Builds, runs the Swift test suite, then the openai-client tests against the built daemon, then
# the kernel tests again on the AVX2 paths where the CPU has AVX-512 (PANGU_KERNEL_ISA=avx2), and
# with AVX-512 and AMX emulated (Tools/test-emulated-isa.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -c "import openai, pytest, schemathesis" 2>/dev/null || python3 -m pip install -q -r Tests/python/requirements.txt

swift build --build-tests
swift test --skip-build --no-parallel  # timing-sensitive live tests; serial is steadier on 2 cores
python3 -m pytest -q Tests/python
if grep -qw avx512f /proc/cpuinfo; then  # the suite above took the AVX-512 paths: the AVX2 ones too
    echo "== kernel and model tests, PANGU_KERNEL_ISA=avx2"
    PANGU_KERNEL_ISA=avx2 swift test --skip-build --filter 'TensorsTests|ModelsTests'
fi
Tools/test-emulated-isa.sh
