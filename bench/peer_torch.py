#!/usr/bin/env python3
"""PyTorch peers of bench_multiclass_nce: fwd+bwd of multi-class NCE (method.md §4.3) on the
same inputs, written two ways.

* official: the formulation of the official CCL code, s_ij = 1 - ½‖f̂_i - ĝ_j‖² by
  broadcasting, which materialises a [B, B, D] tensor (skipped where it cannot fit);
* matmul:   the same loss with s = f̂ ĝᵀ as one matrix product.

Both use the official numerics (log(p + 1e-10), log(1 - p + 1e-10)). The inputs are generated
exactly as bench/bench_support.hpp does (splitmix64 counters -> floats k/2^23 - 1), so the
losses printed here equal the C++ benchmark's `loss` counter up to float rounding.

Timing: the first call of each configuration, then the best (and the median) of the
steady-state calls: on a machine shared with other work the best is the least disturbed. Peak
memory: the process's VmHWM after resetting it (/proc/self/clear_refs) before the run, so the
figure covers the inputs, the autograd graph and the gradients.

Run through scripts/bench.sh, which sets the thread counts and the BLAS environment and records
which BLAS kernel PyTorch's matrix products run on.
"""

import argparse
import ctypes
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

FEATURE_DIM = 512
CLASSES = 51


def uniform_matrix(rows, cols, stream):
    """bench_support.hpp's uniform_matrix, bit for bit."""
    with np.errstate(over="ignore"):
        x = np.arange(rows * cols, dtype=np.uint64) + np.uint64(stream << 40)
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    k = (x >> np.uint64(40)).astype(np.float64)
    return torch.from_numpy((k / float(1 << 23) - 1.0).astype(np.float32).reshape(rows, cols))


def nce_from_similarity(s, y, tau):
    p = F.softmax(s / tau, dim=1)
    pos = (y.unsqueeze(0) == y.unsqueeze(1)).float()
    neg = 1 - pos
    loss = -(pos * torch.log(p + 1e-10)).sum(1) / pos.sum(1) - (
        neg * torch.log(1 - p + 1e-10)
    ).sum(1) / neg.sum(1)
    return loss.mean()


def official(f, g, y, tau):
    f, g = F.normalize(f, dim=1), F.normalize(g, dim=1)
    s = 1 - 0.5 * (f.unsqueeze(1) - g.unsqueeze(0)).pow(2).sum(2)  # [B, B, D] intermediate
    return nce_from_similarity(s, y, tau)


def matmul(f, g, y, tau):
    f, g = F.normalize(f, dim=1), F.normalize(g, dim=1)
    return nce_from_similarity(f @ g.t(), y, tau)


FORMULATIONS = {"official": official, "matmul": matmul}


def estimated_bytes(name, batch, dim):
    """Rough peak of one fwd+bwd (measured: 8.3 GiB for official and 20 [B, B] tensors for
    matmul at B = 1024): the [B, B, D] tensors of the broadcast (kept for backward, plus their
    gradient), or the [B, B] tensors of the matmul form's graph."""
    if name == "official":
        return 4 * batch * batch * dim * 4
    return 20 * batch * batch * 4 + 6 * batch * dim * 4


def status_kib(key):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return float(line.split()[1])
    return -1.0


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        pass


def blas_description():
    """Which BLAS PyTorch's products run on: Debian's torch calls libblas.so.3."""
    info = {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}
    config = torch.__config__.show()
    for key in ("BLAS_INFO", "CPU capability usage"):
        for part in config.replace("\n", ",").split(","):
            if key in part:
                info[key] = part.strip()
    libs = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if "blas" in path or "mkl" in path:
                libs.add(os.path.realpath(path))
    info["blas_libraries"] = sorted(libs)
    try:
        blas = ctypes.CDLL("libblas.so.3")
        blas.openblas_get_corename.restype = ctypes.c_char_p
        blas.openblas_get_config.restype = ctypes.c_char_p
        info["openblas_core"] = blas.openblas_get_corename().decode()
        info["openblas_config"] = blas.openblas_get_config().decode()
        info["openblas_threads"] = blas.openblas_get_num_threads()
    except (OSError, AttributeError):
        info["openblas_core"] = None
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        info[var] = os.environ.get(var)
    return info


def gemm_rate(batch, dim, repeats=3):
    """The BLAS's own sgemm rate on the logits product's shape, for the record."""
    a, b = torch.randn(batch, dim), torch.randn(dim, batch)
    a @ b
    best = min(timed(lambda: a @ b) for _ in range(repeats))
    return 2.0 * batch * batch * dim / best * 1e-9


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_one(name, batch, tau, min_time, max_repeats):
    f = uniform_matrix(batch, FEATURE_DIM, 1).requires_grad_(True)
    g = uniform_matrix(batch, FEATURE_DIM, 2).requires_grad_(True)
    y = torch.arange(batch, dtype=torch.int64) % CLASSES
    fn = FORMULATIONS[name]
    reset_peak()

    def step():
        f.grad, g.grad = None, None
        loss = fn(f, g, y, tau)
        loss.backward()
        return float(loss)

    start = time.perf_counter()
    value = step()
    first = time.perf_counter() - start
    times = []
    while len(times) < max_repeats and (not times or sum(times) < min_time):
        times.append(timed(step))
    return {
        "formulation": name,
        "B": batch,
        "tau": tau,
        "loss": value,
        "first_call_ms": first * 1e3,
        "time_ms": min(times) * 1e3,  # best of the calls, like the C++ side's "min"
        "median_ms": statistics.median(times) * 1e3,
        "repeats": len(times),
        "peak_MiB": status_kib("VmHWM") / 1024.0,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", default="256,1024,4096,16384,65536")
    parser.add_argument("--taus", default="0.1,0.5")
    parser.add_argument("--formulations", default="official,matmul")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-budget-gib", type=float, default=10.0,
                        help="skip configurations whose estimated peak exceeds this")
    parser.add_argument("--min-time", type=float, default=2.0,
                        help="seconds of steady-state calls per configuration (at least one)")
    parser.add_argument("--max-repeats", type=int, default=10)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(True)
    report = {"blas": blas_description(), "results": [], "skipped": []}
    report["blas"]["sgemm_GFLOPs_B4096"] = gemm_rate(4096, FEATURE_DIM)
    print(json.dumps(report["blas"], indent=1), file=sys.stderr)

    for batch in (int(b) for b in args.batches.split(",")):
        for tau in (float(t) for t in args.taus.split(",")):
            for name in args.formulations.split(","):
                need = estimated_bytes(name, batch, FEATURE_DIM) / 2**30
                if need > args.memory_budget_gib:
                    report["skipped"].append({"formulation": name, "B": batch, "tau": tau,
                                              "estimated_GiB": round(need, 1)})
                    print(f"{name:9s} B={batch:6d} tau={tau}: skipped (needs ~{need:.0f} GiB)",
                          file=sys.stderr)
                    continue
                result = run_one(name, batch, tau, args.min_time, args.max_repeats)
                report["results"].append(result)
                print(f"{name:9s} B={batch:6d} tau={tau}: {result['time_ms']:10.1f} ms "
                      f"(first {result['first_call_ms']:.1f} ms, {result['repeats']} calls) "
                      f"loss {result['loss']:.6f} peak {result['peak_MiB']:.0f} MiB",
                      file=sys.stderr)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=1)


if __name__ == "__main__":
    main()
