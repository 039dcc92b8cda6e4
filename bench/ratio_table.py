#!/usr/bin/env python3
"""Prints the ratio table of issue 5 from one run of scripts/bench.sh: the Google Benchmark JSON
of bench_multiclass_nce for each compiler and the JSON of bench/peer_torch.py.

    ratio_table.py --ccl g++=gcc.json --ccl clang++=clang.json --peer peer.json

Columns, per (B, τ): ccl's fwd+bwd time for each compiler; the two PyTorch formulations; the
speed-ups ccl/peer (peer time divided by ccl time, per compiler); the GEMM part of ccl as a
percentage of Eigen's plain GEMM rate on the same shapes (same compiler); ccl's first call
against its steady state; peak memory. A summary checks the targets of issue 5.
"""

import argparse
import json
import re

GIB = 1024.0


def load_ccl(paths):
    """{(B, tau): {...}} for the loss and {B: {...}} for the roof, from one or more JSON files
    (comma-separated) of the same compiler; missing files are skipped (an unfinished run)."""
    loss, roof, context = {}, {}, {}
    for path in paths.split(","):
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError):
            continue
        context = data.get("context", context)
        _collect(data, loss, roof)
    return {"loss": loss, "roof": roof, "context": context}


def _collect(data, loss, roof):
    """Keeps the "min" aggregate (best of the repetitions) where there is one, else the run."""
    for bench in data["benchmarks"]:
        name = bench["name"]
        m = re.search(r"B:(\d+)(?:/tau10:(\d+))?", name)
        is_min = bench.get("run_type") == "aggregate" and bench.get("aggregate_name") == "min"
        if not m or (bench.get("run_type") == "aggregate" and not is_min):
            continue
        batch = int(m.group(1))
        entry = {
            "time_ms": bench["real_time"],  # unit: ms (the benchmarks set kMillisecond)
            "cpu_ms": bench.get("cpu_time"),  # process CPU time, all threads
            # The rate from the (best) time itself, not an aggregate of per-run rates.
            "gemm_GFLOPs": gemm_flops(batch) / (bench["real_time"] * 1e-3) * 1e-9,
            "peak_MiB": bench.get("peak_MiB"),
            "first_call_ms": bench.get("first_call_ms"),
            "loss": bench.get("loss"),
            "threads": bench.get("threads"),
            "tile_rows": bench.get("tile_rows"),
            "best_of": bench.get("repetitions", 1) if is_min else 1,
        }
        if name.startswith("BM_ccl_multiclass_nce"):
            key, table = (batch, int(m.group(2)) / 10.0), loss
        elif name.startswith("BM_eigen_gemm_roof"):
            key, table = batch, roof
        else:
            continue
        if is_min or key not in table:
            table[key] = entry


def gemm_flops(batch, dim=512):
    return 3 * 2.0 * batch * batch * dim


def load_peer(path):
    with open(path) as f:
        data = json.load(f)
    results = {(r["formulation"], r["B"], r["tau"]): r for r in data["results"]}
    return results, data


def fmt_ms(ms):
    if ms is None:
        return "—"
    return f"{ms / 1000:.2f} s" if ms >= 10000 else f"{ms:.1f}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ccl", action="append", required=True, metavar="COMPILER=JSON[,JSON]")
    parser.add_argument("--peer", help="bench/peer_torch.py --json output")
    args = parser.parse_args()

    ccl = {}
    for item in args.ccl:
        compiler, path = item.split("=", 1)
        ccl[compiler] = load_ccl(path)
    compilers = list(ccl)
    peer, peer_data = load_peer(args.peer) if args.peer else ({}, None)

    keys = sorted({k for c in ccl.values() for k in c["loss"]})
    header = ["B", "τ"] + [f"ccl {c} (ms)" for c in compilers] + [
        "torch official (ms)", "torch matmul (ms)", "× official", "× matmul",
        "GEMM part % of Eigen roof, wall (CPU)", "first call / steady", "peak MiB ccl / matmul"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    targets = {"official": [], "matmul": [], "roof": [], "roof_cpu": [], "memory": []}
    for batch, tau in keys:
        row = [str(batch), f"{tau:g}"]
        times = {}
        for c in compilers:
            entry = ccl[c]["loss"].get((batch, tau))
            times[c] = entry["time_ms"] if entry else None
            row.append(fmt_ms(times[c]))
        off = peer.get(("official", batch, tau))
        mat = peer.get(("matmul", batch, tau))
        row.append(fmt_ms(off["time_ms"]) if off else "skipped")
        row.append(fmt_ms(mat["time_ms"]) if mat else "skipped")
        for name, ref in (("official", off), ("matmul", mat)):
            if not ref:
                row.append("—")
                continue
            ratios = [ref["time_ms"] / times[c] for c in compilers if times[c]]
            row.append(" / ".join(f"{r:.1f}×" for r in ratios))
            if name == "official" or batch >= 1024:
                targets[name].append((batch, tau, max(ratios)))
        shares = []
        for c in compilers:
            entry, roof = ccl[c]["loss"].get((batch, tau)), ccl[c]["roof"].get(batch)
            if entry and roof and entry["gemm_GFLOPs"] and roof["gemm_GFLOPs"]:
                share = 100.0 * entry["gemm_GFLOPs"] / roof["gemm_GFLOPs"]
                cpu = (100.0 * roof["cpu_ms"] / entry["cpu_ms"]
                       if entry.get("cpu_ms") and roof.get("cpu_ms") else None)
                shares.append(f"{share:.0f} %" + (f" ({cpu:.0f} %)" if cpu else ""))
                targets["roof"].append((batch, tau, c, share))
                if cpu:
                    targets["roof_cpu"].append((batch, tau, c, cpu))
        row.append(" / ".join(shares) or "—")
        firsts = []
        for c in compilers:
            entry = ccl[c]["loss"].get((batch, tau))
            if entry and entry["first_call_ms"] and batch < 65536:
                firsts.append(f"{entry['first_call_ms'] / entry['time_ms']:.2f}")
        row.append(" / ".join(firsts) or "(one call)")
        peaks = [ccl[c]["loss"][(batch, tau)]["peak_MiB"] for c in compilers
                 if (batch, tau) in ccl[c]["loss"]]
        peak = max(peaks) if peaks else None
        if batch == 65536 and peak:
            targets["memory"].append((batch, tau, peak))
        row.append(f"{peak:.0f} / {mat['peak_MiB']:.0f}" if mat and peak else f"{peak:.0f} / —")
        print("| " + " | ".join(row) + " |")

    print()
    print("Ratios are PyTorch time / ccl time, one figure per compiler (" +
          " / ".join(compilers) + "); roof shares use the same compiler's Eigen GEMM, from wall "
          "time and, in parentheses, from process CPU time (less sensitive to other load).")
    if peer_data:
        blas = peer_data["blas"]
        print(f"PyTorch {blas.get('torch')}, {blas.get('torch_threads')} threads; BLAS: "
              f"{', '.join(blas.get('blas_libraries', [])) or 'unknown'}; OpenBLAS core "
              f"{blas.get('openblas_core')}, {blas.get('openblas_threads')} threads; sgemm "
              f"{blas.get('sgemm_GFLOPs_B4096', 0):.0f} GFLOP/s on [4096x512]x[512x4096]")
        for s in peer_data.get("skipped", []):
            print(f"  skipped: {s['formulation']} B={s['B']} τ={s['tau']:g} "
                  f"(needs ~{s['estimated_GiB']} GiB)")
    print()
    print("Targets of issue 5 (best compiler):")

    def verdict(items, threshold, label):
        if not items:
            print(f"  {label}: not measured")
            return
        worst = min(items, key=lambda t: t[-1])
        ok = all(t[-1] >= threshold for t in items)
        print(f"  {label}: {'met' if ok else 'MISSED'} (worst {worst[-1]:.2f} at B={worst[0]}, "
              f"τ={worst[1]:g})")

    verdict(targets["official"], 3.0, ">= 3x the official PyTorch formulation")
    verdict(targets["matmul"], 1.5, ">= 1.5x the matmul PyTorch formulation, B >= 1024")
    for key, label in (("roof", "wall time"), ("roof_cpu", "CPU time")):
        best_roof = {}
        for batch, tau, c, share in targets[key]:
            best_roof[(batch, tau)] = max(best_roof.get((batch, tau), 0), share)
        verdict([(b, t, s / 100.0) for (b, t), s in best_roof.items()], 0.85,
                f">= 85 % of the Eigen GEMM rate for the GEMM part ({label})")
    if targets["memory"]:
        worst = max(p for _, _, p in targets["memory"])
        print(f"  B = 65536, D = 512 under 4 GiB peak: {'met' if worst < 4 * GIB else 'MISSED'}"
              f" ({worst / GIB:.2f} GiB, inputs and gradients included)")
    else:
        print("  B = 65536 under 4 GiB: not measured")


if __name__ == "__main__":
    main()
