#!/usr/bin/env bash
# The one test command: installs what is needed, builds, runs every test (unit and the real lab).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
cd build
ctest --output-on-failure -j1 --timeout 600
