#!/usr/bin/env bash
# example.feature_probe: the feature-probe example end to end on a synthetic official-layout
# folder (6 classes, groups 1-12, test = groups 1-4): a linear probe and an MLP, each must beat
# chance (1/6) clearly on the test split, and the probe's Recall@1 must be a valid fraction.
set -euo pipefail
probe=$1
work=$2
mkdir -p "$work"

check() {  # check NAME OUTPUT_FILE: top-1 above 0.5 and R@1 in [0, 1]
  local top1 recall
  top1=$(sed -n 's/^test top-1 = \([0-9.]*\),.*/\1/p' "$2")
  recall=$(sed -n 's/^| R@1 | \([0-9.]*\) |.*/\1/p' "$2")
  [ -n "$top1" ] && [ -n "$recall" ] || { echo "$1: no result printed"; exit 1; }
  awk -v t="$top1" -v r="$recall" 'BEGIN { exit !(t > 0.5 && r >= 0 && r <= 1) }' ||
    { echo "$1: test top-1 $top1 (chance 0.167) or R@1 $recall out of range"; exit 1; }
  echo "$1: test top-1 $top1, R@1 $recall"
}

"$probe" --synthetic "$work/layout" --dim 24 --last-test-group 4 --epochs 12 --batch 16 \
  --patience 4 --lrs 0.3,0.05 --weight-decays 0,1e-3 --ks 1,5 --threads 1 | tee "$work/linear.txt"
check linear "$work/linear.txt"

"$probe" --features "$work/layout" --dim 24 --last-test-group 4 --model mlp --hidden 32 \
  --epochs 12 --batch 16 --patience 4 --lrs 0.1 --weight-decays 1e-4 --l2-normalize \
  --drop-missing --ks 1,5 --threads 1 | tee "$work/mlp.txt"
check mlp "$work/mlp.txt"
grep -q "missing) vectors left out" "$work/mlp.txt"

# A wrong root is a clear error, not a crash.
if "$probe" --features "$work" --dim 24 > "$work/wrong.txt" 2>&1; then
  echo "a root one level too high was accepted"; exit 1
fi
grep -q "looks like the folder above the class folders" "$work/wrong.txt"
echo "feature_probe: passed"
