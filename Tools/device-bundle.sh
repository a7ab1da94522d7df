#!/usr/bin/env bash
# Builds what a check on a second machine without a Swift toolchain (an AVX-512 / AMX Xeon lent by
# the device tool) needs into .build-device/bundle.tar.xz: the test binary, ModelBench and the
# shared libraries they load from the toolchain (Swift runtime, Foundation, Testing) and OpenSSL.
# Carry .build-device there and run Tools/device-check.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

swift build --build-tests
swift build -c release --product ModelBench
staging=$(mktemp -d)
mkdir -p "$staging/lib"
binaries=(.build/debug/PanguServePackageTests.xctest .build/release/ModelBench)
for f in "${binaries[@]}"; do strip -o "$staging/$(basename "$f")" "$f"; done
ldd "${binaries[@]}" | awk '/=> (\/opt\/swift|.*libssl|.*libcrypto)/ {print $3}' | sort -u |
    xargs -I{} cp {} "$staging/lib/"
rm -rf .build-device && mkdir -p .build-device
tar -C "$staging" -cf - . | xz -T2 -6 >.build-device/bundle.tar.xz
rm -rf "$staging"
ls -la .build-device
