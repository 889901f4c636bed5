#!/usr/bin/env bash
# Configures and builds replplan into ./build (Release with assertions kept).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREPLPLAN_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
