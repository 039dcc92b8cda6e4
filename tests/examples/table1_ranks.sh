#!/usr/bin/env bash
# table1 under mpirun trains as one process with the same global batch: a small run of every
# method (AI teachers) on 2 ranks reports, cell by cell and epoch by epoch, the losses of a
# 1-rank run with --drop-last (what several ranks do) within float rounding and the same
# accuracies (train, validation and test top-1). Also: one set of tables (rank 0's), and a
# global batch that the ranks do not divide, or --workers with several ranks, is an error.
#
# Usage: table1_ranks.sh <table1 executable> <scratch directory> <mpiexec> [mpiexec flags...]
#
# The run is 2 epochs of one global batch of 30 clips (15 per rank). It is kept that short
# because this tiny student is chaotic at the scale of rounding: in one process, the plain
# BatchNorm3d against SyncBatchNorm3d (float against double statistics, a difference of 1e-7 at
# the first step) moves the loss by up to 1e-2 after 6 steps, as 1 against 2 ranks does; after
# 2 steps both differences are still at the rounding level (docs/distributed.md).
set -euo pipefail
exe=$1
work=$2
mpiexec=$3
shift 3
flags=("$@")
rm -rf "$work"
mkdir -p "$work"
common=(--quick --methods all --modes AI --epochs 2 --batch 30 --progress none --plots "")

"$mpiexec" "${flags[@]}" -np 1 "$exe" "${common[@]}" --drop-last --cache-dir "$work/cache" \
  --json "$work/one.json" >"$work/one.md" 2>"$work/one.log" ||
  { cat "$work/one.log" >&2; echo "table1_ranks: the 1-rank run failed" >&2; exit 1; }
# The 2-rank run reads the benchmark and teachers rank 0 cached (its cells have a key of their own).
"$mpiexec" "${flags[@]}" -np 2 "$exe" "${common[@]}" --cache-dir "$work/cache" \
  --json "$work/two.json" >"$work/two.md" 2>"$work/two.log" ||
  { cat "$work/two.log" >&2; echo "table1_ranks: the 2-rank run failed" >&2; exit 1; }
grep -q "2 ranks: one cell at a time" "$work/two.log" ||
  { echo "table1_ranks: the 2-rank run did not train over 2 ranks" >&2; exit 1; }
tables=$(grep -c '^## Table 1' "$work/two.md" || true)
[ "$tables" = 1 ] || { echo "table1_ranks: 2 ranks printed $tables tables, not rank 0's one" >&2; exit 1; }

# Configurations several ranks cannot run are errors, raised before any work.
expect_error() {  # expect_error <what the message must say> <table1 arguments...>
  local want=$1
  shift
  if "$mpiexec" "${flags[@]}" -np 2 "$exe" --quick --cache-dir "$work/cache" --json "" --plots "" \
    "$@" >/dev/null 2>"$work/error.log"; then
    echo "table1_ranks: 'table1 $*' on 2 ranks succeeded" >&2
    exit 1
  fi
  grep -q "$want" "$work/error.log" ||
    { cat "$work/error.log" >&2; echo "table1_ranks: no '$want' error" >&2; exit 1; }
}
expect_error "is not a positive multiple of the 2 ranks" --batch 15
expect_error "with 2 ranks: over several ranks the cells run one at a time" --workers 2

# Every cell's per-epoch figures, in the same order in both files (keys are sorted).
figures() {
  awk '/^ "runs": \[/ { on = 1 } on' "$1" |
    grep -oE '"(loss|validation_loss|train_top1|validation_top1|top1)": [-+0-9.eE]+'
}
figures "$work/one.json" >"$work/one.txt"
figures "$work/two.json" >"$work/two.txt"
count=$(wc -l <"$work/one.txt")
[ "$count" -ge 45 ] && [ "$count" = "$(wc -l <"$work/two.txt")" ] ||
  { echo "table1_ranks: the two runs' JSON records differ in shape" >&2; exit 1; }
paste -d' ' "$work/one.txt" "$work/two.txt" | awk '
  { key = $1; a = $2 + 0; b = $4 + 0
    if (key != $3) { print "table1_ranks: misaligned records " key " " $3; bad = 1; next }
    if (key ~ /loss/) {
      d = a - b; if (d < 0) d = -d; s = a < 0 ? -a : a; r = d / (s > 1 ? s : 1)
      if (r > worst) worst = r
      if (r > 1e-3) { print "table1_ranks: " key " " a " on 1 rank, " b " on 2 ranks"; bad = 1 }
    } else {
      ++accuracies
      if (a != b) { print "table1_ranks: " key " " a " on 1 rank, " b " on 2 ranks"; bad = 1 }
    }
  }
  END {
    if (bad) exit 1
    printf "table1: 1 and 2 ranks agree: %d accuracies equal, largest relative loss difference %.2g\n", accuracies, worst
  }'
