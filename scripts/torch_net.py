#!/usr/bin/env python3
"""The PyTorch module of a network file (the JSON of `lenet5 train --net`), to train it side by side
and to check what our trainer exported.

  torch_net.py NET.json --data RAW_MNIST [--epochs 1] [--threads 2] [--seed 0] [--schedule one-cycle]
      trains the same network in PyTorch (Adam 1e-3, batch 64, cross-entropy, pixels / 255) and
      prints `train_s=` per epoch and `test_acc=`, as ../shared/peers/pytorch/lenet5.py does.
  torch_net.py NET.json --data RAW_MNIST --safetensors FILE [--onnx FILE] [--expect ACC]
      loads FILE strictly (every name and shape, nothing left over) into the module, evaluates it
      on the test set, runs the ONNX model in onnxruntime on the same images, and checks that both
      accuracies equal ACC (the trainer's test_acc) to the fourth decimal.

Module names follow our state names: a Sequential's layers by position (or name), a Residual's body
layers at its level and its shortcut under `shortcut`, so `load_state_dict(strict=True)` maps
`3.conv1.weight`, `4.shortcut.0.weight`, `1.num_batches_tracked` one to one.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def conv(d):
    return nn.Conv2d(d["in_channels"], d["out_channels"], tuple(d["kernel"]),
                     stride=tuple(d.get("stride", [1, 1])), padding=tuple(d.get("padding", [0, 0])),
                     dilation=tuple(d.get("dilation", [1, 1])), groups=d.get("groups", 1),
                     bias=d.get("bias", True))


def layer(d):
    t = d["type"]
    if t == "Conv2D":
        return conv(d)
    if t == "Linear":
        return nn.Linear(d["in_features"], d["out_features"], bias=d.get("bias", True))
    if t in ("MaxPooling", "AvgPooling"):
        k = tuple(d["kernel"])
        s = tuple(d.get("stride") or d["kernel"])
        return nn.MaxPool2d(k, s) if t == "MaxPooling" else nn.AvgPool2d(k, s)
    if t == "BatchNormalization":
        return nn.BatchNorm2d(d["num_features"], eps=d.get("eps", 1e-5),
                              momentum=d.get("momentum", 0.1), affine=d.get("affine", True))
    if t == "Relu":
        return nn.ReLU()
    if t == "LeakyRelu":
        return nn.LeakyReLU(d.get("slope", 0.01))
    if t == "Sigmoid":
        return nn.Sigmoid()
    if t == "Tanh":
        return nn.Tanh()
    if t == "Softmax":
        return nn.Softmax(dim=1)
    if t == "Flatten":
        return nn.Flatten()
    if t == "Dropout":
        return nn.Dropout(d["p"])
    if t == "GlobalAvgPooling":
        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    if t == "Standardize":
        return Standardize(d["mean"], d["std"])
    if t == "Sequential":
        return chain(d["layers"])
    if t == "Residual":
        return Residual(d)
    raise SystemExit(f"torch_net.py: no PyTorch equivalent for layer type {t}")


def chain(layers):
    named = [(l.get("name", str(i)), layer(l)) for i, l in enumerate(layers)]
    seq = nn.Sequential()
    for name, m in named:
        seq.add_module(name, m)
    return seq


class Standardize(nn.Module):
    """(x - mean) / std, as torchvision's Normalize on one channel."""

    def __init__(self, mean, std):
        super().__init__()
        self.mean, self.std = mean, std

    def forward(self, x):
        return (x - self.mean) / self.std


class Residual(nn.Module):
    """activation(body(x) + shortcut(x)), the body's layers named at this level."""

    def __init__(self, d):
        super().__init__()
        self.order = []
        for i, l in enumerate(d["body"]):
            name = l.get("name", str(i))
            self.add_module(name, layer(l))
            self.order.append(name)
        self.shortcut = chain(d["shortcut"]) if d.get("shortcut") else None
        self.activation = layer(d["activation"]) if d.get("activation") else None

    def forward(self, x):
        h = x
        for name in self.order:
            h = getattr(self, name)(h)
        h = h + (self.shortcut(x) if self.shortcut is not None else x)
        return self.activation(h) if self.activation is not None else h


def idx(path, images):
    raw = open(path, "rb").read()
    if images:
        n, r, c = (int(v) for v in np.frombuffer(raw[4:16], dtype=">u4"))
        return torch.from_numpy(np.frombuffer(raw[16:], dtype=np.uint8).reshape(n, 1, r, c).astype(np.float32) / np.float32(255.0))
    return torch.from_numpy(np.frombuffer(raw[8:], dtype=np.uint8).astype(np.int64))


def load_strict(model, path):
    """Every tensor of the file into the module by name; a missing or extra name is an error."""
    from safetensors.torch import load_file
    state = load_file(path)
    # Counters are stored as tensors of one value; PyTorch's are 0-d int64.
    for k, v in state.items():
        if k.endswith("num_batches_tracked"):
            state[k] = v.reshape(()).to(torch.int64)
    model.load_state_dict(state, strict=True)


@torch.no_grad()
def accuracy(model, x, y):
    model.eval()
    logits = torch.cat([model(x[i:i + 1000]) for i in range(0, x.shape[0], 1000)])
    return (logits.argmax(1) == y).float().mean().item(), logits


@torch.no_grad()
def single_image_latency_us(model, x, warmup=200, runs=2000):
    """The median time of one forward pass of a batch of one image, in microseconds."""
    model.eval()
    times = []
    for i in range(warmup + runs):
        one = x[i % x.shape[0]:i % x.shape[0] + 1]
        t0 = time.perf_counter()
        model(one)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2] * 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("net")
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--safetensors")
    ap.add_argument("--onnx")
    ap.add_argument("--expect", type=float)
    ap.add_argument("--latency", action="store_true",
                    help="only time single-image inference: the median of 2000 forward passes of "
                         "one test image each (eval mode, no autograd), printed as latency_us=")
    ap.add_argument("--init", help="start training from these weights (safetensors of our trainer)")
    ap.add_argument("--schedule", choices=["constant", "one-cycle"], default="constant",
                    help="one-cycle: OneCycleLR(max_lr=1e-3, all steps, cycle_momentum=False) per "
                         "batch, as `lenet5 train --schedule one-cycle`")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    spec = json.load(open(args.net))
    model = chain(spec["layers"])
    xte = idx(os.path.join(args.data, "t10k-images-idx3-ubyte"), True)
    yte = idx(os.path.join(args.data, "t10k-labels-idx1-ubyte"), False)
    if args.init:
        load_strict(model, args.init)
    if args.latency:
        print(f"latency_us={single_image_latency_us(model, xte):.1f}")
        return
    if args.safetensors:
        load_strict(model, args.safetensors)
        acc, logits = accuracy(model, xte, yte)
        print(f"pytorch (strict load of {args.safetensors}): test_acc={acc:.4f}")
        ok = True
        if args.onnx:
            import onnxruntime as ort
            sess = ort.InferenceSession(args.onnx, providers=["CPUExecutionProvider"])
            out = np.concatenate([sess.run(None, {"input": xte[i:i + 1000].numpy()})[0] for i in range(0, xte.shape[0], 1000)])
            onnx_acc = float((out.argmax(1) == yte.numpy()).mean())
            diff = float(np.abs(out - logits.numpy()).max())
            print(f"onnxruntime ({args.onnx}): test_acc={onnx_acc:.4f} max|logits - pytorch's|={diff:.2e}")
            ok = ok and abs(onnx_acc - acc) < 5e-5
        if args.expect is not None:
            ok = ok and abs(acc - args.expect) < 5e-5
            print(f"expected test_acc={args.expect:.4f}: {'same' if ok else 'DIFFERENT'}")
        sys.exit(0 if ok else 1)
    xtr = idx(os.path.join(args.data, "train-images-idx3-ubyte"), True)
    ytr = idx(os.path.join(args.data, "train-labels-idx1-ubyte"), False)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    steps = args.epochs * ((xtr.shape[0] + 63) // 64)
    sched = (torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, total_steps=steps,
                                                 cycle_momentum=False)
             if args.schedule == "one-cycle" else None)
    g = torch.Generator().manual_seed(args.seed)
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(xtr.shape[0], generator=g)
        t0 = time.perf_counter()
        loss_sum = torch.zeros(())
        for i in range(0, xtr.shape[0], 64):
            b = perm[i:i + 64]
            loss = F.cross_entropy(model(xtr[b]), ytr[b])
            opt.zero_grad(set_to_none=False)
            loss.backward()
            opt.step()
            if sched:
                sched.step()
            loss_sum += loss.detach() * len(b)
        train_s = time.perf_counter() - t0
        acc, _ = accuracy(model, xte, yte)
        train_loss = loss_sum.item() / xtr.shape[0]
        print(f"peer=pytorch threads={args.threads} epoch={epoch} train_loss={train_loss:.4f} "
              f"train_s={train_s:.2f} test_acc={acc:.4f}")


if __name__ == "__main__":
    main()
