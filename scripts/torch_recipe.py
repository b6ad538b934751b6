#!/usr/bin/env python3
"""LeNet5 trained in PyTorch with the trainer's recipe options, to run side by side with
`lenet5 train` (the README's recipe table).

  torch_recipe.py --data RAW_MNIST [--epochs 15] [--seed 0] [--threads 2] [--lr 0.003]
                  [--optimizer adam|adamw] [--weight-decay 0] [--schedule constant|cosine|one-cycle]
                  [--standardize] [--shift 0] [--val-split 0]

The same meaning as the trainer's flags:
- `--schedule one-cycle`: OneCycleLR(max_lr=lr, total_steps=epochs*batches, pct_start=0.3,
  cosine, div_factor=25, final_div_factor=1e4, cycle_momentum=False), stepped every batch;
  `cosine`: CosineAnnealingLR(T_max=epochs*batches), stepped every batch.
- `--standardize`: (x - mean) / std with the training images' mean and std (pixels / 255).
- `--shift S`: each training image moved by (dy, dx), both uniform in [-S, S], zeros shifted in.
- `--val-split N`: the last N training images are held out (not trained on).
Prints `epoch= ... test_acc=` per epoch and `test_acc=` at the end.
"""
import argparse
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared", "peers", "pytorch"))


def read_idx(path, images):
    import numpy as np
    with open(path, "rb") as f:
        data = f.read()
    if images:
        n, r, c = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
        return torch.from_numpy(np.frombuffer(data, np.uint8, offset=16).reshape(n, 1, r, c).copy())
    return torch.from_numpy(np.frombuffer(data, np.uint8, offset=8).astype(np.int64))


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(16, 120, 5), nn.ReLU(), nn.Flatten(),
        nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def shift(x, s, gen):
    if s == 0:
        return x
    n, _, h, w = x.shape
    d = torch.randint(-s, s + 1, (n, 2), generator=gen)
    padded = F.pad(x, (s, s, s, s))
    out = torch.empty_like(x)
    for i in range(n):
        dy, dx = int(d[i, 0]), int(d[i, 1])
        out[i] = padded[i, :, s - dy:s - dy + h, s - dx:s - dx + w]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--optimizer", choices=["adam", "adamw"], default="adamw")
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--schedule", choices=["constant", "cosine", "one-cycle"], default="constant")
    ap.add_argument("--standardize", action="store_true")
    ap.add_argument("--shift", type=int, default=0)
    ap.add_argument("--val-split", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    d = a.data
    xtr = read_idx(os.path.join(d, "train-images-idx3-ubyte"), True).float() / 255
    ytr = read_idx(os.path.join(d, "train-labels-idx1-ubyte"), False)
    xte = read_idx(os.path.join(d, "t10k-images-idx3-ubyte"), True).float() / 255
    yte = read_idx(os.path.join(d, "t10k-labels-idx1-ubyte"), False)
    if a.val_split:
        xtr, ytr = xtr[:-a.val_split], ytr[:-a.val_split]
    mean, std = (xtr.mean().item(), xtr.std().item()) if a.standardize else (0.0, 1.0)
    model = lenet5()
    opt_cls = torch.optim.AdamW if a.optimizer == "adamw" else torch.optim.Adam
    opt = opt_cls(model.parameters(), lr=a.lr, weight_decay=a.weight_decay)
    steps = a.epochs * ((xtr.shape[0] + a.batch - 1) // a.batch)
    if a.schedule == "one-cycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=steps,
                                                    cycle_momentum=False)
    elif a.schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    else:
        sched = None
    gen = torch.Generator().manual_seed(a.seed)
    for epoch in range(1, a.epochs + 1):
        model.train()
        perm = torch.randperm(xtr.shape[0], generator=gen)
        for i in range(0, xtr.shape[0], a.batch):
            idx = perm[i:i + a.batch]
            xb = (shift(xtr[idx], a.shift, gen) - mean) / std
            loss = F.cross_entropy(model(xb), ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched:
                sched.step()
        model.eval()
        with torch.no_grad():
            acc = (model((xte - mean) / std).argmax(1) == yte).float().mean().item()
        print(f"epoch={epoch} test_acc={acc:.4f}", flush=True)
    print(f"test_acc={acc:.4f}")


if __name__ == "__main__":
    main()
