#!/usr/bin/env python3
"""PyTorch peer of bench_cuda_contrastive: multi-class NCE forward + backward as the official CCL
code writes it (method.md §4.3: F.normalize, a B x B similarity matrix, softmax, 1e-10 inside the
logs), on the same GPU and shapes. Prints a Markdown table with the same columns.

    python3 tests/cuda/torch_multiclass_nce.py [--dim 512] [--tau 0.1] [--repeat 10]
                                               [--batches 1024,4096,...]
"""
import argparse
import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("SKIPPED: PyTorch is not installed")
    sys.exit(77)


def multiclass_nce(f, g, labels, tau):
    f = F.normalize(f, dim=1)
    g = F.normalize(g, dim=1)
    p = torch.softmax(f @ g.t() / tau, dim=1)
    pos = (labels[:, None] == labels[None, :]).float()
    neg = 1.0 - pos
    eps = 1e-10
    pos_term = (pos * torch.log(p + eps)).sum(1) / pos.sum(1)
    neg_term = (neg * torch.log(1.0 - p + eps)).sum(1) / neg.sum(1).clamp_min(1.0)
    return -(pos_term + neg_term).mean()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--tau", type=float, default=0.1)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--batches", default="1024,4096,16384,32768,65536,131072")
    parser.add_argument("--tf32", action="store_true", help="allow TF32 matmuls")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("SKIPPED: torch.cuda.is_available() is False")
        return 77
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    device = torch.device("cuda")
    name = "torch tf32" if args.tf32 else "torch fp32"
    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, D = {args.dim}, "
          f"tau = {args.tau}, {args.repeat} timed calls\n")
    print("| B | algorithm | time_ms | GFLOP/s | peak_MiB | loss |")
    print("|---|---|---|---|---|---|")
    for batch in (int(b) for b in args.batches.split(",")):
        try:
            gen = torch.Generator(device="cpu").manual_seed(1)
            f = torch.randn(batch, args.dim, generator=gen).to(device).requires_grad_()
            g = torch.randn(batch, args.dim, generator=gen).to(device).requires_grad_()
            labels = (torch.arange(batch) % 51).to(device)
            for _ in range(2):
                loss = multiclass_nce(f, g, labels, args.tau)
                loss.backward()
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            start = torch.cuda.Event(enable_timing=True)
            stop = torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(args.repeat):
                f.grad = None
                g.grad = None
                loss = multiclass_nce(f, g, labels, args.tau)
                loss.backward()
                value = loss.item()
            stop.record()
            torch.cuda.synchronize()
            ms = start.elapsed_time(stop) / args.repeat
            flops = 3.0 * 2.0 * batch * batch * args.dim
            peak = torch.cuda.max_memory_allocated() / 2**20
            print(f"| {batch} | {name} | {ms:.3f} | {flops / (ms * 1e-3) * 1e-9:.0f} | {peak:.0f} "
                  f"| {value:.6f} |", flush=True)
        except torch.cuda.OutOfMemoryError:
            print(f"| {batch} | {name} | out of memory | | | |", flush=True)
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
