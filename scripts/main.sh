#!/usr/bin/env bash
# The main-job command: set up a Debian 12 machine, build the examples in Release and run the
# main job. Arguments are passed on to the program.
set -euo pipefail
cd "$(dirname "$0")/.."

MAIN_TARGET=quickstart

bash scripts/setup-debian.sh
cmake --preset release
cmake --build --preset release --target "$MAIN_TARGET"
"build/release/examples/$MAIN_TARGET" "$@"
