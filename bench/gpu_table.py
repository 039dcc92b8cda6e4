#!/usr/bin/env python3
"""The GPU tables of scripts/gpu-check.sh: ccl against PyTorch on the same device and shapes.

    gpu_table.py [--nce-ccl ccl_nce.json] [--nce-torch torch_nce.json]
                 [--step-ccl ccl_step.json] [--step-torch torch_step.json] [--json summary.json]

--nce-*: bench_cuda_contrastive --json and tests/cuda/torch_multiclass_nce.py --json (multi-class
NCE forward + backward, D = 512). --step-*: bench_cuda_r2plus1d_step's Google Benchmark JSON
(--benchmark_out) and bench/peer_r2plus1d.py --device cuda --json (one training step of the
R(2+1)D student). Missing or unreadable files leave their table out. Ratios are PyTorch time /
ccl time, as in the CPU tables: above 1, ccl is faster. fp32 is compared with fp32, TF32 with TF32.
"""

import argparse
import json
import re


def load(path):
    if not path:
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def fmt(x, digits=2):
    return "—" if x is None else f"{x:.{digits}f}"


def nce_table(ccl, torch, out):
    rows = {}
    for r in (ccl or {}).get("results", []) + (torch or {}).get("results", []):
        if "time_ms" in r:
            rows.setdefault(r["B"], {})[r["algorithm"]] = r
    print("## Multi-class NCE, forward + backward (D = 512, τ = "
          f"{(ccl or torch or {}).get('tau', '?')})\n")
    print(f"device: {(ccl or torch or {}).get('device', '?')}\n")
    print("| B | precision | ccl cuBLAS (ms) | ccl fused (ms) | PyTorch (ms) | × cuBLAS | × fused "
          "| fused GFLOP/s |")
    print("|---|---|---|---|---|---|---|---|")
    summary = []
    for batch in sorted(rows):
        for precision in ("fp32", "tf32"):
            cub = rows[batch].get(f"cublas {precision}")
            fus = rows[batch].get(f"fused {precision}")
            ref = rows[batch].get(f"torch {precision}")
            if not (cub or fus or ref):
                continue
            t = lambda r: r["time_ms"] if r else None  # noqa: E731
            ratio = lambda r: ref["time_ms"] / r["time_ms"] if r and ref else None  # noqa: E731
            print(f"| {batch} | {precision} | {fmt(t(cub), 3)} | {fmt(t(fus), 3)} | "
                  f"{fmt(t(ref), 3) if ref else 'did not fit / not run'} | {fmt(ratio(cub))} | "
                  f"{fmt(ratio(fus))} | {fmt(fus['GFLOPs'] if fus else None, 0)} |")
            summary.append({"B": batch, "precision": precision, "cublas_ms": t(cub),
                            "fused_ms": t(fus), "torch_ms": t(ref), "torch_over_cublas":
                            ratio(cub), "torch_over_fused": ratio(fus)})
    print("\nLargest batch per algorithm (the sweep stops at the first call over the time cap, or "
          "at the first that does not fit):\n")
    print("| algorithm | largest B measured | stopped by | B that memory would allow (ccl) |")
    print("|---|---|---|---|")
    sweeps = (ccl or {}).get("sweep", []) + (torch or {}).get("sweep", [])
    for s in sweeps:
        bound = s.get("memory_bound_B")
        print(f"| {s['algorithm']} | {s['largest_B']} | {s['stopped']} | "
              f"{'~' + str(bound) if bound else '—'} |")
    print()
    return {"rows": summary, "sweep": sweeps}


def step_table(ccl, torch, out):
    measured = {}
    for b in (ccl or {}).get("benchmarks", []):
        m = re.match(r"BM_(official|narrow)_step/B:(\d+)/tf32:(\d)", b["name"])
        if m and b.get("run_type", "iteration") == "iteration":
            key = (m.group(1), int(m.group(2)), int(m.group(3)))
            measured.setdefault(key, {})["ccl"] = b
    for r in (torch or {}).get("results", []):
        measured.setdefault((r["student"], r["batch"], r["tf32"]), {})["torch"] = r
    print("## One training step of the R(2+1)D student (forward, cross-entropy, backward, SGD)\n")
    context = (ccl or {}).get("context", {})
    print(f"device: {context.get('device', (torch or {}).get('device', '?'))}; PyTorch "
          f"{(torch or {}).get('torch', '—')}, cuDNN {(torch or {}).get('cudnn', '—')}, "
          f"cudnn.benchmark {(torch or {}).get('cudnn_benchmark', '—')}\n")
    print("| student | B | TF32 | ccl ms/step | PyTorch ms/step | × | ccl clips/s | "
          "ccl first step (ms) | PyTorch first step (ms) | ccl device MiB | PyTorch peak MiB | "
          "parameters ccl / PyTorch |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    summary = []
    for key in sorted(measured, key=lambda k: (k[0] != "official", k[1], k[2])):
        c, t = measured[key].get("ccl"), measured[key].get("torch")
        c_err = c.get("error_message") if c and c.get("error_occurred") else None
        t_err = t.get("error") if t else None
        cms = c.get("ms_per_step_median") if c and not c_err else None
        tms = t.get("ms_per_step_median") if t and not t_err else None
        ratio = tms / cms if cms and tms else None
        params = (f"{int(c['parameters']) if c and 'parameters' in c else '—'} / "
                  f"{t['parameters'] if t and 'parameters' in t else '—'}")
        print(f"| {key[0]} | {key[1]} | {'on' if key[2] else 'off'} | "
              f"{fmt(cms) if not c_err else 'failed: ' + c_err[:60]} | "
              f"{fmt(tms) if not t_err else t_err[:60]} | {fmt(ratio)} | "
              f"{fmt(c.get('clips_per_s') if c else None, 0)} | "
              f"{fmt(c.get('first_step_ms') if c else None, 0)} | "
              f"{fmt(t.get('first_step_ms') if t else None, 0)} | "
              f"{fmt(c.get('device_MiB') if c else None, 0)} | "
              f"{fmt(t.get('peak_MiB') if t else None, 0)} | {params} |")
        summary.append({"student": key[0], "batch": key[1], "tf32": key[2], "ccl_ms": cms,
                        "torch_ms": tms, "torch_over_ccl": ratio, "ccl_error": c_err,
                        "torch_error": t_err})
    print("\nms/step: medians of CUDA-event times of whole steps (loss read back every step on "
          "both sides). ccl device MiB: device memory in use after the warm-up steps; PyTorch peak "
          "MiB: its allocator's peak (the two count differently).\n")
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nce-ccl")
    parser.add_argument("--nce-torch")
    parser.add_argument("--step-ccl")
    parser.add_argument("--step-torch")
    parser.add_argument("--json", help="also write the tables' numbers here")
    args = parser.parse_args()
    result = {}
    nce = (load(args.nce_ccl), load(args.nce_torch))
    if any(nce):
        result["multiclass_nce"] = nce_table(*nce, result)
    step = (load(args.step_ccl), load(args.step_torch))
    if any(step):
        result["r2plus1d_step"] = step_table(*step, result)
    if not result:
        print("gpu_table: no benchmark results to tabulate")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
