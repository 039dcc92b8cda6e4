#!/usr/bin/env python3
"""Draws the per-epoch curves of a table1 run (its JSON record) as a PNG: for one teacher setting,
each method's validation top-1 (solid) and training top-1 (dashed), mean over seeds. Shows whether
the schedule is long enough (the validation curves have settled) and how far each student
overfits its fit clips.

    python3 examples/table1/plot_curves.py table1.json table1-plots/curves.png --teachers AI
"""
import argparse
import json
import sys
from collections import defaultdict


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("record", help="the JSON written by table1 --json")
    parser.add_argument("png", help="the picture to write")
    parser.add_argument("--teachers", default="AI", help="teacher setting to plot (A, I or AI)")
    args = parser.parse_args()
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot_curves.py: matplotlib is not installed (Debian: python3-matplotlib)", file=sys.stderr)
        return 1

    with open(args.record, encoding="utf-8") as f:
        record = json.load(f)
    # curves[method][key][epoch] -> values over seeds
    curves = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for run in record["runs"]:
        if run["method"] != "baseline" and run["teachers"] != args.teachers:
            continue
        for point in run.get("curve", []):
            for key in ("validation_top1", "train_top1"):
                curves[run["method"]][key][point["epoch"]].append(100.0 * point[key])
    if not curves:
        print(f"plot_curves.py: no per-epoch curves for teachers {args.teachers} in {args.record}",
              file=sys.stderr)
        return 1

    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=120)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, method in enumerate(curves):
        colour = colours[i % len(colours)]
        width = 2.2 if method in ("CCL", "baseline") else 1.1
        for key, style in (("validation_top1", "-"), ("train_top1", "--")):
            epochs = sorted(curves[method][key])
            means = [sum(curves[method][key][e]) / len(curves[method][key][e]) for e in epochs]
            ax.plot(epochs, means, style, color=colour, linewidth=width,
                    label=method if key == "validation_top1" else None)
    ax.set_xlabel("epoch")
    ax.set_ylabel("top-1 (%)")
    ax.set_title(f"Validation (solid) and training (dashed) top-1, teachers {args.teachers}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, ncol=3)
    fig.tight_layout()
    fig.savefig(args.png)
    print(f"plot_curves.py: wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
