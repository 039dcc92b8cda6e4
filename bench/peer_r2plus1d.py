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

Run through scripts/bench-r2plus1d.sh, which sets the threads and the BLAS environment.
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


class NarrowStudent(nn.Module):
    def __init__(self, in_channels=1, widths=(8, 8, 16, 32, 64), classes=10):
        super().__init__()
        self.stem = SpatioTemporalConv(in_channels, widths[0], 3, (1, 2, 2), 1)
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=30, help="timed steps")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = NarrowStudent()
    net.train()
    encoder_parameters = sum(p.numel() for n, p in net.named_parameters()
                             if not n.startswith("classifier."))
    parameters = sum(p.numel() for p in net.parameters())
    sgd = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9, dampening=0,
                          weight_decay=5e-4)

    b = args.batch
    clips = uniform_matrix(b, 8 * 32 * 32, 11).reshape(b, 1, 8, 32, 32).contiguous()
    labels = torch.arange(b, dtype=torch.int64) % 10

    def step():
        sgd.zero_grad(set_to_none=False)
        loss = F.cross_entropy(net(clips), labels)
        loss.backward()
        sgd.step()
        return loss.item()

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
    main()
