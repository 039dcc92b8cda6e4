#!/usr/bin/env python3
"""PyTorch peer of bench_cuda_contrastive: multi-class NCE forward + backward as the official CCL
code writes it (method.md §4.3: F.normalize, a B x B similarity matrix, softmax, 1e-10 inside the
logs), on the same GPU and shapes. Prints a Markdown table with the same columns and, with --json,
writes the rows as JSON (bench/gpu_table.py reads both programs' files).

    python3 tests/cuda/torch_multiclass_nce.py [--dim 512] [--tau 0.1] [--repeat 10]
        [--batches 1024,2048,...] [--tf32 off|on|both] [--max-call-ms 1500] [--json FILE]

This formulation materialises several [B, B] tensors, so memory ends its sweep: after the first
batch that runs out of memory, the largest batch that fits is searched between the last batch that
ran and that one (to a multiple of 1024, one untimed call per probe), timed, and reported as
`largest_B` in the JSON. A batch whose call takes longer than --max-call-ms ends the sweep too.
"""
import argparse
import json
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


def inputs(batch, dim, device):
    gen = torch.Generator(device="cpu").manual_seed(1)
    f = torch.randn(batch, dim, generator=gen).to(device).requires_grad_()
    g = torch.randn(batch, dim, generator=gen).to(device).requires_grad_()
    labels = (torch.arange(batch) % 51).to(device)
    return f, g, labels


def one_call(f, g, labels, tau):
    f.grad = None
    g.grad = None
    loss = multiclass_nce(f, g, labels, tau)
    loss.backward()
    return loss.item()


def fits(batch, args, device):
    """One untimed call at `batch`: whether it runs without running out of memory."""
    try:
        f, g, labels = inputs(batch, args.dim, device)
        one_call(f, g, labels, args.tau)
        return True
    except torch.cuda.OutOfMemoryError:
        return False
    finally:
        f = g = labels = None  # noqa: F841 (free before the next probe)
        torch.cuda.empty_cache()


def measure(batch, args, device, name):
    f, g, labels = inputs(batch, args.dim, device)
    start = torch.cuda.Event(enable_timing=True)
    stop = torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    start.record()
    one_call(f, g, labels, args.tau)
    stop.record()
    stop.synchronize()
    first_ms = start.elapsed_time(stop)
    if first_ms < 1000:
        one_call(f, g, labels, args.tau)
    calls = max(2, min(args.repeat, int(args.point_seconds * 1e3 / max(first_ms, 1e-3))))
    start.record()
    for _ in range(calls):
        value = one_call(f, g, labels, args.tau)
    stop.record()
    stop.synchronize()
    ms = start.elapsed_time(stop) / calls
    flops = 3.0 * 2.0 * batch * batch * args.dim
    row = {"B": batch, "algorithm": name, "tf32": int(name.endswith("tf32")), "time_ms": ms,
           "first_call_ms": first_ms, "GFLOPs": flops / (ms * 1e-3) * 1e-9,
           "peak_MiB": torch.cuda.max_memory_allocated() / 2**20, "loss": value, "calls": calls}
    print(f"| {batch} | {name} | {ms:.3f} | {row['GFLOPs']:.0f} | {row['peak_MiB']:.0f} "
          f"| {value:.6f} | {calls} |", flush=True)
    return row


def sweep(args, device, tf32):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    name = "torch tf32" if tf32 else "torch fp32"
    rows, largest, stopped = [], 0, "end of the batch list"
    for batch in args.batches:
        error = None
        try:
            row = measure(batch, args, device, name)
        except torch.cuda.OutOfMemoryError as e:
            error = "out of memory: " + str(e).splitlines()[0]
        # Outside the except block: its traceback would keep the failed call's tensors alive.
        if error is not None:
            torch.cuda.empty_cache()
            rows.append({"B": batch, "algorithm": name, "tf32": int(tf32), "error": error})
            print(f"| {batch} | {name} | out of memory | | | | |", flush=True)
            # The largest batch that fits, between the last that ran and this one.
            lo, hi = largest, batch
            while hi - lo > 1024:
                mid = (lo + hi) // 2 // 1024 * 1024
                if mid <= lo:
                    break
                lo, hi = (mid, hi) if fits(mid, args, device) else (lo, mid)
            if lo > largest:
                try:
                    rows.append(measure(lo, args, device, name))
                    largest = lo
                except torch.cuda.OutOfMemoryError:
                    pass
                torch.cuda.empty_cache()
            stopped = f"out of memory at B = {hi}"
            break
        rows.append(row)
        largest = batch
        torch.cuda.empty_cache()
        if row["time_ms"] > args.max_call_ms:
            stopped = f"time cap ({args.max_call_ms:g} ms per call)"
            break
    return rows, {"algorithm": name, "largest_B": largest, "stopped": stopped}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--tau", type=float, default=0.1)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--batches", default="1024,2048,4096,8192,16384,32768,65536,131072,262144")
    parser.add_argument("--tf32", choices=["off", "on", "both"], default="both",
                        help="TF32 matmuls (torch.backends.cuda.matmul.allow_tf32)")
    parser.add_argument("--max-call-ms", type=float, default=1500)
    parser.add_argument("--point-seconds", type=float, default=4)
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args()
    args.batches = [int(b) for b in args.batches.split(",")]
    if not torch.cuda.is_available():
        print("SKIPPED: torch.cuda.is_available() is False")
        return 77
    device = torch.device("cuda")
    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, D = {args.dim}, "
          f"tau = {args.tau}, up to {args.repeat} timed calls\n")
    print("| B | algorithm | time_ms | GFLOP/s | peak_MiB | loss | calls |")
    print("|---|---|---|---|---|---|---|")
    rows, summary = [], []
    for tf32 in {"off": [False], "on": [True], "both": [False, True]}[args.tf32]:
        r, s = sweep(args, device, tf32)
        rows += r
        summary.append(s)
    print("\n| algorithm | largest B measured | sweep stopped by |\n|---|---|---|")
    for s in summary:
        print(f"| {s['algorithm']} | {s['largest_B']} | {s['stopped']} |")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"device": torch.cuda.get_device_name(0), "torch": torch.__version__,
                       "dim": args.dim, "tau": args.tau, "max_call_ms": args.max_call_ms,
                       "results": rows, "sweep": summary}, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
