#!/usr/bin/env python3
"""PyTorch peer of bench_r2plus1d_step: one training step of the narrow R(2+1)D student.

The network is the one ccl builds with R2Plus1dOptions::narrow(1) and a (1, 2, 2) stem stride
(method.md §3.1, the VCOP R(2+1)D code the official CCL student uses):

  SpatioTemporalConv(Ni -> No, kernel (kt, kh, kw), stride (st, sh, sw), padding (pt, ph, pw)) =
    Conv3d(Ni -> M, (1, kh, kw), (1, sh, sw), (0, ph, pw), bias=False) -> BatchNorm3d(M) -> ReLU
    -> Conv3d(M -> No, (kt, 1, 1), (st, 1, 1), (pt, 0, 0), bias=False),
  M = floor(kt·kh·kw·Ni·No / (kh·kw·Ni + kt·No));

  stem  STConv(1 -> 8, 3, stride (1, 2, 2), pad 1) -> BN -> ReLU
  conv2 ResBlock(8 -> 8), conv3 ResBlock(8 -> 16, down), conv4 (16 -> 32, down),
  conv5 (32 -> 64, down), AdaptiveAvgPool3d(1), then the student's Linear(64 -> 10).

The step: zero_grad, forward, softmax cross-entropy (mean), backward, SGD(lr 1e-3, momentum 0.9,
weight decay 5e-4) on a batch of 16 clips [16, 1, 8, 32, 32] whose values are bench_support.hpp's
uniform_matrix(16, 8192, 11), labels i mod 10. Prints wall and process-CPU ms per step (the best
and the median of the timed steps) and the parameter count, as JSON.

--student official: the same CPU step for the official-width student (below) on --batch clips
[3, 16, 112, 112], labels i mod 101 (bench_r2plus1d_step's BM_official_step).

Run through scripts/bench-r2plus1d.sh, which sets the threads and the BLAS environment.

--device cuda: the GPU peer of bench_cuda_r2plus1d_step (run by scripts/gpu-check.sh). The same
step for the narrow student and the official one (R2Plus1dOptions::official(): stem
STConv(3 -> 64, (3, 7, 7), stride (1, 2, 2), pad (1, 3, 3)), widths 64/64/128/256/512,
Linear(512 -> 101), on [B, 3, 16, 112, 112] clips) for every student:batch of --configs, with
TF32 off and/or on (torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32),
torch.backends.cudnn.benchmark on, fp32 throughout; CUDA events around each whole step. Writes
{"device", "torch", "cudnn", "results": [...]} to --json.
"""

import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_torch import blas_description, uniform_matrix  # noqa: E402


def triple(v):
    return (v, v, v) if isinstance(v, int) else tuple(v)


class SpatioTemporalConv(nn.Module):
    def __init__(self, cin, cout, kernel, stride=1, padding=0):
        super().__init__()
        kt, kh, kw = triple(kernel)
        st, sh, sw = triple(stride)
        pt, ph, pw = triple(padding)
        mid = (kt * kh * kw * cin * cout) // (kh * kw * cin + kt * cout)
        self.spatial_conv = nn.Conv3d(cin, mid, (1, kh, kw), (1, sh, sw), (0, ph, pw), bias=False)
        self.bn = nn.BatchNorm3d(mid)
        self.relu = nn.ReLU()
        self.temporal_conv = nn.Conv3d(mid, cout, (kt, 1, 1), (st, 1, 1), (pt, 0, 0), bias=False)

    def forward(self, x):
        return self.temporal_conv(self.relu(self.bn(self.spatial_conv(x))))


class ResBlock(nn.Module):
    def __init__(self, cin, cout, downsample):
        super().__init__()
        stride = 2 if downsample else 1
        self.conv1 = SpatioTemporalConv(cin, cout, 3, stride, 1)
        self.bn1 = nn.BatchNorm3d(cout)
        self.relu1 = nn.ReLU()
        self.conv2 = SpatioTemporalConv(cout, cout, 3, 1, 1)
        self.bn2 = nn.BatchNorm3d(cout)
        self.downsample = downsample
        if downsample:
            self.downsampleconv = SpatioTemporalConv(cin, cout, 1, 2, 0)
            self.downsamplebn = nn.BatchNorm3d(cout)
        self.outrelu = nn.ReLU()

    def forward(self, x):
        res = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        if self.downsample:
            x = self.downsamplebn(self.downsampleconv(x))
        return self.outrelu(x + res)


class Student(nn.Module):
    """The R(2+1)D student of R2Plus1dOptions: stem, conv2..conv5, global pooling, Linear."""

    def __init__(self, in_channels, widths, stem_kernel, stem_stride, stem_padding, classes):
        super().__init__()
        self.stem = SpatioTemporalConv(in_channels, widths[0], stem_kernel, stem_stride,
                                       stem_padding)
        self.stem_bn = nn.BatchNorm3d(widths[0])
        self.stem_relu = nn.ReLU()
        self.conv2 = ResBlock(widths[0], widths[1], False)
        self.conv3 = ResBlock(widths[1], widths[2], True)
        self.conv4 = ResBlock(widths[2], widths[3], True)
        self.conv5 = ResBlock(widths[3], widths[4], True)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.classifier = nn.Linear(widths[4], classes)

    def encode(self, x):
        x = self.stem_relu(self.stem_bn(self.stem(x)))
        x = self.conv5(self.conv4(self.conv3(self.conv2(x))))
        return self.pool(x).flatten(1)

    def forward(self, x):
        return self.classifier(self.encode(x))


# The two students of the benchmarks: (constructor arguments, clip shape [C, T, H, W]).
STUDENTS = {
    # R2Plus1dOptions::narrow(1) with a (1, 2, 2) stem stride, Linear(64 -> 10): Table 1's.
    "narrow": (dict(in_channels=1, widths=(8, 8, 16, 32, 64), stem_kernel=3,
                    stem_stride=(1, 2, 2), stem_padding=1, classes=10), (1, 8, 32, 32)),
    # R2Plus1dOptions::official(), Linear(512 -> 101): the official student on UCF101-size
    # outputs, 14.4 M parameters.
    "official": (dict(in_channels=3, widths=(64, 64, 128, 256, 512), stem_kernel=(3, 7, 7),
                      stem_stride=(1, 2, 2), stem_padding=(1, 3, 3), classes=101),
                 (3, 16, 112, 112)),
}


def NarrowStudent():  # noqa: N802 (the CPU benchmark's network, kept under its old name)
    return Student(**STUDENTS["narrow"][0])


def make_step(net, clips, labels, sgd):
    def step():
        sgd.zero_grad(set_to_none=False)
        loss = F.cross_entropy(net(clips), labels)
        loss.backward()
        sgd.step()
        return loss.item()  # reads the loss back, as ccl's CrossEntropy does
    return step


def count_parameters(net):
    encoder = sum(p.numel() for n, p in net.named_parameters() if not n.startswith("classifier."))
    return encoder, sum(p.numel() for p in net.parameters())


def run_cuda(args):
    """The GPU peer of bench_cuda_r2plus1d_step: every (student, batch) of --configs, TF32 off
    and/or on, timed with CUDA events around whole steps (the loss read back every step)."""
    if not torch.cuda.is_available():
        print("SKIPPED: torch.cuda.is_available() is False")
        return 77
    device = torch.device("cuda")
    torch.backends.cudnn.benchmark = not args.no_cudnn_benchmark
    results = []
    tf32_modes = {"off": [False], "on": [True], "both": [False, True]}[args.tf32]
    for config in args.configs.split(","):
        name, batch = config.split(":")
        kwargs, (c, t, h, w) = STUDENTS[name]
        b = int(batch)
        for tf32 in tf32_modes:
            # cuDNN's TF32 switch defaults to on in PyTorch: both switches set explicitly.
            torch.backends.cuda.matmul.allow_tf32 = tf32
            torch.backends.cudnn.allow_tf32 = tf32
            entry = {"student": name, "batch": b, "tf32": int(tf32), "clip": [c, t, h, w]}
            try:
                torch.manual_seed(0)
                net = Student(**kwargs).to(device)
                net.train()
                encoder_parameters, parameters = count_parameters(net)
                sgd = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9, dampening=0,
                                      weight_decay=5e-4)
                clips = uniform_matrix(b, c * t * h * w, 11).reshape(b, c, t, h, w).to(device)
                labels = (torch.arange(b, dtype=torch.int64) % kwargs["classes"]).to(device)
                step = make_step(net, clips, labels, sgd)
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
                start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(
                    enable_timing=True)
                start.record()
                step()  # cudnn.benchmark tries the algorithms here
                stop.record()
                stop.synchronize()
                first_ms = start.elapsed_time(stop)
                for _ in range(args.warmup):
                    step()
                event_ms, wall_ms = [], []
                deadline = time.perf_counter() + args.min_time
                while len(event_ms) < args.steps or (time.perf_counter() < deadline and
                                                     len(event_ms) < 10 * args.steps):
                    w0 = time.perf_counter()
                    start.record()
                    loss = step()
                    stop.record()
                    stop.synchronize()
                    event_ms.append(start.elapsed_time(stop))
                    wall_ms.append(1e3 * (time.perf_counter() - w0))
                med = statistics.median(event_ms)
                entry.update({
                    "steps": len(event_ms),
                    "ms_per_step_median": med,
                    "ms_per_step_best": min(event_ms),
                    "wall_ms_per_step_median": statistics.median(wall_ms),
                    "first_step_ms": first_ms,
                    "clips_per_s": 1e3 * b / med,
                    "peak_MiB": torch.cuda.max_memory_allocated() / 2**20,
                    "loss": loss,
                    "encoder_parameters": encoder_parameters,
                    "parameters": parameters,
                })
                del net, sgd, clips, labels, step
            except torch.cuda.OutOfMemoryError as e:
                entry["error"] = f"out of memory: {str(e).splitlines()[0]}"
            torch.cuda.empty_cache()
            print(json.dumps(entry), flush=True)
            results.append(entry)
    report = {
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "results": results,
    }
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=1)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--student", choices=sorted(STUDENTS), default="narrow",
                        help="cpu: the network (narrow: Table 1's, [B, 1, 8, 32, 32] clips; "
                             "official: [B, 3, 16, 112, 112])")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=30, help="timed steps")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", help="also write the result here")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                        help="cuda: the GPU peer of bench_cuda_r2plus1d_step (the options below)")
    parser.add_argument("--configs", default="official:8,official:16,narrow:16,narrow:128",
                        help="cuda: student:batch pairs (student: narrow or official)")
    parser.add_argument("--tf32", choices=["off", "on", "both"], default="both",
                        help="cuda: TF32 for cuBLAS and cuDNN")
    parser.add_argument("--min-time", type=float, default=1.0,
                        help="cuda: seconds of timed steps per configuration (at least --steps)")
    parser.add_argument("--no-cudnn-benchmark", action="store_true",
                        help="cuda: cuDNN's heuristics instead of torch.backends.cudnn.benchmark")
    args = parser.parse_args()
    if args.device == "cuda":
        return run_cuda(args)

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config, clip_shape = STUDENTS[args.student]
    net = Student(**config)
    net.train()
    encoder_parameters, parameters = count_parameters(net)
    sgd = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9, dampening=0,
                          weight_decay=5e-4)

    b = args.batch
    per_clip = 1
    for extent in clip_shape:
        per_clip *= extent
    clips = uniform_matrix(b, per_clip, 11).reshape(b, *clip_shape).contiguous()
    labels = torch.arange(b, dtype=torch.int64) % config["classes"]

    step = make_step(net, clips, labels, sgd)

    for _ in range(args.warmup):
        step()
    wall, cpu = [], []
    loss = float("nan")
    for _ in range(args.steps):
        w0, c0 = time.perf_counter(), time.process_time()
        loss = step()
        wall.append(1e3 * (time.perf_counter() - w0))
        cpu.append(1e3 * (time.process_time() - c0))

    result = {
        "threads": torch.get_num_threads(),
        "student": args.student,
        "batch": b,
        "steps": args.steps,
        "ms_per_step_median": statistics.median(wall),
        "ms_per_step_best": min(wall),
        "cpu_ms_per_step_median": statistics.median(cpu),
        "clips_per_s": 1e3 * b / statistics.median(wall),
        "loss": loss,
        "encoder_parameters": encoder_parameters,
        "parameters": parameters,
        "mkldnn_available": torch.backends.mkldnn.is_available(),
        "blas": blas_description(),
        "load_average": open("/proc/loadavg").read().split()[:3],
    }
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=1)


if __name__ == "__main__":
    sys.exit(main())
