#!/usr/bin/env python3
"""Draws the Recall@K curves of a table1 run (its JSON record) as a PNG, like Figure 1 of the
paper: one curve per method, mean over seeds, for one teacher setting.

    python3 examples/table1/plot_recall.py table1.json table1-plots/recall.png --teachers AI
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
    parser.add_argument("--methods", default="baseline,CRD,CMC,CCL", help="methods to plot")
    args = parser.parse_args()
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot_recall.py: matplotlib is not installed (Debian: python3-matplotlib)", file=sys.stderr)
        return 1

    with open(args.record, encoding="utf-8") as f:
        record = json.load(f)
    curves = defaultdict(lambda: defaultdict(list))
    for run in record["runs"]:
        if run["method"] != "baseline" and run["teachers"] != args.teachers:
            continue
        for key, value in run["recall"].items():
            curves[run["method"]][int(key[2:])].append(100.0 * value)

    fig, ax = plt.subplots(figsize=(5, 3.6), dpi=120)
    for method in args.methods.split(","):
        if method not in curves:
            continue
        ks = sorted(curves[method])
        means = [sum(curves[method][k]) / len(curves[method][k]) for k in ks]
        ax.plot(ks, means, marker="o", linewidth=2 if method == "CCL" else 1.2, label=method)
    ax.set_xscale("log")
    ax.set_xticks([1, 2, 5, 10, 20])
    ax.set_xticklabels(["1", "2", "5", "10", "20"])
    ax.set_xlabel("K")
    ax.set_ylabel("Recall@K (%)")
    ax.set_title(f"Video retrieval, teachers {args.teachers}")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.png)
    print(f"plot_recall.py: wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
