#!/usr/bin/env bash
# table1 resumes a killed run: a run is killed (SIGKILL) once some of its cells have finished,
# started again with the same cache (one finished cell's file damaged on the way), and its tables
# must equal those of a run that was never interrupted. Usage: table1_resume.sh <table1 executable> <scratch directory>
set -euo pipefail
exe=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
common=(--quick --epochs 3 --modes AI --seeds 2 --workers 2 --progress none --plots "")

# The uninterrupted run (it also builds the benchmark and teacher caches both runs share).
"$exe" "${common[@]}" --cache-dir "$work/whole" --json "$work/whole.json" \
  --markdown "$work/whole.md" >/dev/null 2>"$work/whole.log"

# The same run, killed after three cells have finished, then resumed.
cp -r "$work/whole" "$work/killed"
rm -rf "$work/killed/cells"
"$exe" "${common[@]}" --cache-dir "$work/killed" --json "$work/killed.json" \
  --markdown "$work/killed.md" >/dev/null 2>"$work/killed-1.log" &
pid=$!
trap 'kill -9 "$pid" 2>/dev/null || true' EXIT  # never leave the run behind when this script fails
finished=0
for _ in $(seq 1 3000); do
  # The cells directory appears only once the run has its caches: until then find fails, which
  # under pipefail must not end the script.
  finished=$({ find "$work/killed/cells" -name '*-s*.json' 2>/dev/null || true; } | wc -l)
  [ "$finished" -ge 3 ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.02
done
if ! kill -9 "$pid" 2>/dev/null; then
  echo "table1_resume: the run ended before it could be killed (after $finished cells)" >&2
  exit 1
fi
wait "$pid" 2>/dev/null || true
[ ! -e "$work/killed.md" ] || { echo "table1_resume: the killed run wrote its tables" >&2; exit 1; }
echo "killed after $finished finished cells"

# A damaged cell file (here: cut in half) is reported and that cell runs again.
damaged=$(find "$work/killed/cells" -name '*-s*.json' | sort | head -n 1)
head -c "$(($(wc -c <"$damaged") / 2))" "$damaged" >"$damaged.cut" && mv "$damaged.cut" "$damaged"

"$exe" "${common[@]}" --cache-dir "$work/killed" --json "$work/killed.json" \
  --markdown "$work/killed.md" >/dev/null 2>"$work/killed-2.log"
grep -E "read back from the cache" "$work/killed-2.log"
if ! grep -F "ignoring $damaged" "$work/killed-2.log"; then
  echo "table1_resume: the damaged cell file was not reported" >&2
  exit 1
fi
reused=$(grep -oE "[0-9]+ of [0-9]+ cells read back" "$work/killed-2.log" | awk '{s += $1} END {print s + 0}')
if [ "$reused" -lt 2 ]; then
  echo "table1_resume: the resumed run reused $reused cells, expected at least 2" >&2
  exit 1
fi
if ! diff -u "$work/whole.md" "$work/killed.md"; then
  echo "table1_resume: the resumed run's tables differ from the uninterrupted run's" >&2
  exit 1
fi
echo "table1_resume: the resumed run reused $reused cells and printed the same tables"
