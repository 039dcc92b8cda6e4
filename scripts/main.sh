#!/usr/bin/env bash
# The main-job command: set up a Debian 12 machine, build the examples in Release and run the
# main job, the Table 1 reproduction (docs/reproducing-table1.md). Arguments are passed on to
# table1 (e.g. --full, --seeds 5, --methods baseline,CRD,CCL, --quick). Results: table1.json,
# table1.md and table1-plots/ in the current directory; caches (benchmark, teachers, finished
# cells) in table1-cache/, so an interrupted run continues where it stopped.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"

bash "$repo/scripts/setup-debian.sh"
(cd "$repo" && cmake --preset release && cmake --build --preset release --target table1 quickstart)
"$repo/build/release/examples/table1" --markdown table1.md "$@"
# Debian's matplotlib belongs to Debian's interpreter, whatever python3 is first on PATH.
python=/usr/bin/python3
[ -x "$python" ] || python=python3
"$python" "$repo/examples/table1/plot_table1.py" table1.json table1-plots ||
  echo "main.sh: the Recall@K and training-curve plots were not drawn (see above)" >&2
