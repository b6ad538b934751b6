#!/usr/bin/env python3
"""Loads a LeNet5 exported by `lenet5 export --safetensors` into PyTorch and tests it.

The model is the torch.nn.Sequential equivalent of nn_layers::models::lenet5, so the state_dict
names are the file's names; load_state_dict runs with strict=True (every tensor present, none
extra, every shape equal). It then reports the accuracy on the MNIST test set read from the
project's bundled data/mnist (pixels / 255, as the trainer feeds them), to compare with
`lenet5 eval --model FILE`.

Needs torch, numpy and safetensors (not in CI: torch is large):
  python3 -m venv v && v/bin/pip install torch numpy safetensors
Usage: python3 scripts/torch_load_safetensors.py MODEL.safetensors [MNIST_DIR]
Prints: torch_test_acc=<fraction> torch_test_loss=<mean> images=10000
"""
import gzip
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from safetensors.torch import load_file


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(16, 120, 5), nn.ReLU(), nn.Flatten(),
        nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def idx(path, header):
    data = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    return np.frombuffer(data, dtype=np.uint8, offset=header)


def main():
    weights = Path(sys.argv[1])
    mnist = Path(sys.argv[2] if len(sys.argv) > 2 else Path(__file__).parent.parent / "data/mnist")
    model = lenet5()
    model.load_state_dict(load_file(str(weights)), strict=True)
    model.eval()
    images = idx(mnist / "t10k-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28)
    labels = torch.from_numpy(idx(mnist / "t10k-labels-idx1-ubyte.gz", 8).astype(np.int64))
    x = torch.from_numpy(images.astype(np.float32) / 255.0)
    with torch.no_grad():
        logits = torch.cat([model(x[i:i + 1000]) for i in range(0, len(x), 1000)])
    acc = (logits.argmax(1) == labels).float().mean().item()
    loss = nn.functional.cross_entropy(logits, labels).item()
    print(f"torch_test_acc={acc:.4f} torch_test_loss={loss:.4f} images={len(labels)}")


if __name__ == "__main__":
    main()
