#!/usr/bin/env bash
# ucf51_train under mpirun trains as one process with the same global batch: on the tiny
# synthetic layout, the baseline and CCL-AI trained for one epoch on 2 ranks report the losses of
# a 1-rank run with --drop-last (what several ranks do) within float rounding, and the same
# accuracies (train, validation and test top-1); so does a second epoch resumed from rank 0's
# checkpoints. Also: one table and one set of outputs (rank 0's), and a batch the ranks do not
# divide, or --backend cuda with several ranks, is an error.
#
# Usage: ucf51_train_ranks.sh <ucf51_train executable> <scratch directory> <mpiexec> [flags...]
#
# An epoch is 2 steps of a global batch of 4 clips (2 per rank; the layout's 9 training videos
# leave an incomplete third batch, which both runs skip). The run is kept that short because this
# tiny student amplifies rounding over a run (plain against synchronised BatchNorm statistics, 1
# against 2 ranks): the first epoch's losses agree to about 1e-6 relative, the second's to about
# 1e-4, under the bound of 1e-3 that table1_ranks.sh uses too (docs/distributed.md).
set -euo pipefail
exe=$1
work=$2
mpiexec=$3
shift 3
flags=("$@")
rm -rf "$work"
mkdir -p "$work"
common=(--synthetic "$work/data" --student narrow --feature-dim 64 --frames 4 --size 16
        --batch-size 4 --eval-batch 8 --milestones 1 --threads 1 --progress none
        --test-model both --methods baseline,CCL --modes AI --backend cpu)

for epochs in 1 2; do  # the second run resumes every cell from rank 0's last.ckpt
  "$mpiexec" "${flags[@]}" -np 1 "$exe" "${common[@]}" --epochs $epochs --drop-last \
    --out "$work/one" >"$work/one.out" 2>"$work/one.log" ||
    { cat "$work/one.out" "$work/one.log" >&2; echo "ucf51_train_ranks: the 1-rank run failed" >&2; exit 1; }
  "$mpiexec" "${flags[@]}" -np 2 "$exe" "${common[@]}" --epochs $epochs --out "$work/two" \
    >"$work/two.out" 2>"$work/two.log" ||
    { cat "$work/two.out" "$work/two.log" >&2; echo "ucf51_train_ranks: the 2-rank run failed" >&2; exit 1; }
done
resumed=$(grep -c "resumed from .* after epoch 1 of 2" "$work/two.log" || true)
[ "$resumed" = 2 ] || { echo "ucf51_train_ranks: 2 ranks resumed $resumed cells, expected 2 (once each)" >&2; exit 1; }
grep -q "data-parallel over 2 ranks" "$work/two.out" ||
  { echo "ucf51_train_ranks: the 2-rank run did not train over 2 ranks" >&2; exit 1; }
tables=$(grep -c '^| Method |' "$work/two.out" || true)
[ "$tables" = 1 ] || { echo "ucf51_train_ranks: 2 ranks printed $tables tables, not rank 0's one" >&2; exit 1; }
for file in table1.md ucf51_train.json baseline/last.ckpt baseline/best.ckpt baseline/log.jsonl \
            ccl-AI/last.ckpt ccl-AI/log.jsonl ccl-AI/result.json; do
  [ -f "$work/two/$file" ] || { echo "ucf51_train_ranks: rank 0 did not write $file" >&2; exit 1; }
done
# One line per epoch: a second rank appending to the log would have doubled it.
lines=$(wc -l <"$work/two/ccl-AI/log.jsonl")
[ "$lines" = 2 ] || { echo "ucf51_train_ranks: ccl-AI/log.jsonl has $lines lines, expected 2" >&2; exit 1; }

# Configurations several ranks cannot run are errors, raised on every rank before any work.
expect_error() {  # expect_error <what the message must say> <ucf51_train arguments...>
  local want=$1
  shift
  if "$mpiexec" "${flags[@]}" -np 2 "$exe" "${common[@]}" --out "$work/error" "$@" \
    >/dev/null 2>"$work/error.log"; then
    echo "ucf51_train_ranks: 'ucf51_train $*' on 2 ranks succeeded" >&2
    exit 1
  fi
  grep -q "$want" "$work/error.log" ||
    { cat "$work/error.log" >&2; echo "ucf51_train_ranks: no '$want' error" >&2; exit 1; }
}
expect_error "the batch of 3 clips is not divisible by 2 ranks" --batch-size 3
expect_error "backend cuda runs in one process only" --backend cuda

# Every cell's figures, in the same order in both files (nlohmann sorts the keys).
figures() {
  grep -oE '"(loss|train_top1|val_top1|val_loss|test_top1_best_epoch|test_top1_last_epoch)": [-+0-9.eE]+' "$1"
}
figures "$work/one/ucf51_train.json" >"$work/one.txt"
figures "$work/two/ucf51_train.json" >"$work/two.txt"
count=$(wc -l <"$work/one.txt")
[ "$count" -ge 20 ] && [ "$count" = "$(wc -l <"$work/two.txt")" ] ||
  { echo "ucf51_train_ranks: the two runs' JSON records differ in shape" >&2; exit 1; }
paste -d' ' "$work/one.txt" "$work/two.txt" | awk '
  { key = $1; a = $2 + 0; b = $4 + 0
    if (key != $3) { print "ucf51_train_ranks: misaligned records " key " " $3; bad = 1; next }
    printf "  %s %.9g on 1 rank, %.9g on 2 ranks\n", key, a, b
    if (key ~ /loss/) {
      d = a - b; if (d < 0) d = -d; s = a < 0 ? -a : a; r = d / (s > 1 ? s : 1)
      if (r > worst) worst = r
      if (r > 1e-3) { print "ucf51_train_ranks: " key " " a " on 1 rank, " b " on 2 ranks"; bad = 1 }
    } else {
      ++accuracies
      if (a != b) { print "ucf51_train_ranks: " key " " a " on 1 rank, " b " on 2 ranks"; bad = 1 }
    }
  }
  END {
    if (bad) exit 1
    printf "ucf51_train: 1 and 2 ranks agree: %d accuracies equal, largest relative loss difference %.2g\n", accuracies, worst
  }'
