#!/usr/bin/env python3
"""Writes testdata/pytorch-safetensors/: a file saved by PyTorch, for the Rust import test.

The seed's batch-norm network as torch.nn.Sequential, trained three SGD steps on random data in
train mode (so the running statistics and num_batches_tracked have moved), saved with
safetensors.torch.save_file(model.state_dict()), and its eval-mode logits on 5 random images
(seed_bn_net.json: {"input": {"shape", "data"}, "logits": {"shape", "data"}}).

Needs torch and safetensors: python3 -m venv v && v/bin/pip install torch safetensors
Usage: python3 scripts/make_torch_safetensors.py [OUT_FOLDER]
"""
import json
import sys
from pathlib import Path

import torch
import torch.nn as nn
from safetensors.torch import save_file


def seed_bn_net():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.MaxPool2d(2), nn.BatchNorm2d(4), nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(196, 10))


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "testdata/pytorch-safetensors")
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(5)
    model = seed_bn_net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    for _ in range(3):
        x = torch.rand(16, 1, 28, 28) * 2.0 + 0.5
        loss = nn.functional.cross_entropy(model(x), torch.randint(0, 10, (16,)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    x = torch.rand(5, 1, 28, 28)
    with torch.no_grad():
        logits = model(x)
    save_file(model.state_dict(), str(out / "seed_bn_net.safetensors"))
    t = lambda v: {"shape": list(v.shape), "data": v.flatten().tolist()}
    (out / "seed_bn_net.json").write_text(json.dumps({
        "note": f"torch {torch.__version__}: eval-mode logits of seed_bn_net.safetensors",
        "input": t(x), "logits": t(logits)}))
    print("num_batches_tracked:", int(model[2].num_batches_tracked))


if __name__ == "__main__":
    main()
