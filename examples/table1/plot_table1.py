#!/usr/bin/env python3
"""Draws the figures of a table1 run from its JSON record, for one teacher setting:

  recall.png  Recall@K curves, one per method, mean over seeds (like Figure 1 of the paper);
  curves.png  each method's validation top-1 (solid) and training top-1 (dashed) per epoch, mean
              over seeds: whether the schedule is long enough (the validation curves have
              settled) and how far each student overfits the clips it fits.

    python3 examples/table1/plot_table1.py table1.json table1-plots --teachers AI
"""
import argparse
import json
import os
import sys
from collections import defaultdict


def cells(record, teachers):
    """The Table 1 cells of one teacher setting (the baseline has none and is always drawn)."""
    return [run for run in record["runs"] if run["method"] == "baseline" or run["teachers"] == teachers]


def mean(values):
    return sum(values) / len(values)


def draw_recall(plt, record, teachers, methods, path):
    curves = defaultdict(lambda: defaultdict(list))
    for run in cells(record, teachers):
        for key, value in run["recall"].items():
            curves[run["method"]][int(key[2:])].append(100.0 * value)
    fig, ax = plt.subplots(figsize=(5, 3.6), dpi=120)
    for method in methods:
        if method in curves:
            ks = sorted(curves[method])
            ax.plot(ks, [mean(curves[method][k]) for k in ks], marker="o",
                    linewidth=2 if method == "CCL" else 1.2, label=method)
    ax.set_xscale("log")
    ax.set_xticks([1, 2, 5, 10, 20])
    ax.set_xticklabels(["1", "2", "5", "10", "20"])
    ax.set_xlabel("K")
    ax.set_ylabel("Recall@K (%)")
    ax.set_title(f"Video retrieval, teachers {teachers}")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


def draw_curves(plt, record, teachers, path):
    curves = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for run in cells(record, teachers):
        for point in run.get("curve", []):
            for key in ("validation_top1", "train_top1"):
                curves[run["method"]][key][point["epoch"]].append(100.0 * point[key])
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=120)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, method in enumerate(curves):
        colour = colours[i % len(colours)]
        width = 2.2 if method in ("CCL", "baseline") else 1.1
        for key, style in (("validation_top1", "-"), ("train_top1", "--")):
            epochs = sorted(curves[method][key])
            ax.plot(epochs, [mean(curves[method][key][e]) for e in epochs], style, color=colour,
                    linewidth=width, label=method if key == "validation_top1" else None)
    ax.set_xlabel("epoch")
    ax.set_ylabel("top-1 (%)")
    ax.set_title(f"Validation (solid) and training (dashed) top-1, teachers {teachers}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, ncol=3)
    fig.tight_layout()
    fig.savefig(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("record", help="the JSON written by table1 --json")
    parser.add_argument("directory", help="where to write recall.png and curves.png")
    parser.add_argument("--teachers", default="AI", help="teacher setting to plot (A, I or AI)")
    parser.add_argument("--methods", default="baseline,CRD,CMC,CCL", help="methods of the Recall@K plot")
    args = parser.parse_args()
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot_table1.py: matplotlib is not installed (Debian: python3-matplotlib)", file=sys.stderr)
        return 1
    with open(args.record, encoding="utf-8") as f:
        record = json.load(f)
    if not cells(record, args.teachers):
        print(f"plot_table1.py: no cells with teachers {args.teachers} in {args.record}", file=sys.stderr)
        return 1
    os.makedirs(args.directory, exist_ok=True)
    recall = os.path.join(args.directory, "recall.png")
    curves = os.path.join(args.directory, "curves.png")
    draw_recall(plt, record, args.teachers, args.methods.split(","), recall)
    draw_curves(plt, record, args.teachers, curves)
    print(f"plot_table1.py: wrote {recall} and {curves}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
