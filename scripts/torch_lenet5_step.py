#!/usr/bin/env python3
"""PyTorch's time for one LeNet5 step without the update (forward, cross-entropy, backward) at
batch 64, and an eval-mode forward, to set beside `cargo bench -p benches --bench network`.

Usage: python3 scripts/torch_lenet5_step.py [--threads 2] [--repeats 300]
Needs torch (../shared/peers/pytorch/README.md). Prints medians in microseconds:
  peer=pytorch threads=N lenet5_fwd_bwd_us=... lenet5_fwd_eval_us=...
"""
import argparse
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(16, 120, 5), nn.ReLU(), nn.Flatten(),
        nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def median_us(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts) * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=300)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    model = lenet5()
    x = torch.rand(64, 1, 28, 28)
    y = torch.arange(64) % 10

    def step():
        model.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()

    def infer():
        with torch.no_grad():
            model(x)

    model.train()
    fb = median_us(step, 30, args.repeats)
    model.eval()
    ev = median_us(infer, 30, args.repeats)
    print(f"peer=pytorch threads={args.threads} lenet5_fwd_bwd_us={fb:.1f} lenet5_fwd_eval_us={ev:.1f}", flush=True)


if __name__ == "__main__":
    main()
