#!/usr/bin/env python3
"""Multi-class NCE, forward + backward on the CPU, in one Python process: ccl (through the
Python package) vs the official PyTorch formulation (B x B x D pairwise tensors, as the official
code builds them) vs the matmul formulation in PyTorch. Prints time and peak memory per batch
size, and the largest batch each implementation ran.

    python3 bench/bench_python_losses.py --max-batch 65536 --repeats 3 --memory-cap-gib 16

An implementation whose estimated working memory exceeds --memory-cap-gib is skipped at that
batch size and larger; a RuntimeError (out of memory) also ends its run.
"""
import argparse
import resource
import time

import torch
import torch.nn.functional as F

import ccl.torch as ct


def official(f, g, labels, tau):
    # The official code's cosine: pairwise cosine_similarity over a [B, B, D] broadcast.
    sim = F.cosine_similarity(f[:, None, :], g[None, :, :], dim=2) / tau
    p = torch.softmax(sim, dim=1)
    pos = (labels[:, None] == labels[None, :]).to(f.dtype)
    neg = 1 - pos
    return (-(pos * torch.log(p + 1e-10)).sum(1) / pos.sum(1)
            - (neg * torch.log(1 - p + 1e-10)).sum(1) / neg.sum(1)).mean()


def matmul(f, g, labels, tau):
    p = torch.softmax(F.normalize(f, dim=1) @ F.normalize(g, dim=1).t() / tau, dim=1)
    pos = (labels[:, None] == labels[None, :]).to(f.dtype)
    neg = 1 - pos
    return (-(pos * torch.log(p + 1e-10)).sum(1) / pos.sum(1)
            - (neg * torch.log(1 - p + 1e-10)).sum(1) / neg.sum(1)).mean()


def cclnce(f, g, labels, tau):
    return ct.multiclass_nce(f, g, labels, tau)


# Estimated working memory in bytes (float32): the official [B, B, D] products and their
# gradients; the matmul formulation's handful of [B, B] matrices; ccl's O(B·D).
ESTIMATE = {
    "ccl": lambda b, d: 4 * 8 * b * d,
    "matmul": lambda b, d: 4 * 12 * b * b,
    "official": lambda b, d: 4 * 4 * b * b * d,
}
IMPLEMENTATIONS = {"ccl": cclnce, "matmul": matmul, "official": official}


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_once(loss, b, d, tau):
    gen = torch.Generator().manual_seed(b)
    f = torch.randn(b, d, generator=gen, requires_grad=True)
    g = torch.randn(b, d, generator=gen, requires_grad=True)
    labels = torch.randint(0, 51, (b,), generator=gen)
    start = time.perf_counter()
    loss(f, g, labels, tau).backward()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-batch", type=int, default=256)
    parser.add_argument("--max-batch", type=int, default=65536)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tau", type=float, default=0.5)
    parser.add_argument("--memory-cap-gib", type=float, default=16.0)
    parser.add_argument("--only", nargs="*", default=sorted(IMPLEMENTATIONS))
    args = parser.parse_args()

    cap = args.memory_cap_gib * 2**30
    largest = {name: 0 for name in args.only}
    stopped = set()
    print(f"threads {torch.get_num_threads()}, D = {args.dim}, float32, best of {args.repeats}")
    print("| B | implementation | forward+backward ms | peak RSS MiB (process) |")
    print("|---:|---|---:|---:|")
    b = args.min_batch
    while b <= args.max_batch:
        for name in args.only:
            if name in stopped:
                continue
            if ESTIMATE[name](b, args.dim) > cap:
                print(f"| {b} | {name} | skipped: estimate over --memory-cap-gib | |")
                stopped.add(name)
                continue
            try:
                best = min(run_once(IMPLEMENTATIONS[name], b, args.dim, args.tau)
                           for _ in range(args.repeats))
            except RuntimeError as error:  # out of memory
                print(f"| {b} | {name} | failed: {str(error).splitlines()[0][:60]} | |")
                stopped.add(name)
                continue
            largest[name] = b
            print(f"| {b} | {name} | {best * 1e3:.1f} | {peak_rss_mib():.0f} |")
        b *= 2
    print("largest batch run: " + ", ".join(f"{n} {largest[n]}" for n in args.only))


if __name__ == "__main__":
    main()
