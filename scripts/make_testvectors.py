#!/usr/bin/env python3
"""Writes a second set of PyTorch golden vectors (conv2d.json, pool.json) with other shapes and
values, in the format of testdata/torch/, to check that the tests read cases from the files.

Usage:
  python3 scripts/make_testvectors.py OUT_DIR [--seed N]
  NN_TESTVECTORS=OUT_DIR cargo test -p core-tensor --test torch_vectors

Needs torch (see ../shared/peers/pytorch/README.md); not run in CI. Like the shared vectors, the
inputs are rounded to float32 and the references computed in float64.
"""
import argparse
import json
import os

import torch
import torch.nn.functional as F


def t(x):
    return {"shape": list(x.shape), "data": [float(v) for v in x.reshape(-1).tolist()]}


def f32_inputs(*shape, gen):
    return torch.randn(*shape, generator=gen).float().double()


def conv_cases(gen):
    cases = []
    specs = [  # n, c, h, w, f, kh, kw, sh, sw, ph, pw
        (3, 2, 9, 7, 5, 3, 2, 2, 3, 1, 2),
        (1, 4, 5, 5, 2, 5, 5, 1, 1, 0, 0),
        (5, 1, 10, 11, 3, 4, 3, 3, 2, 2, 1),
        (2, 3, 6, 6, 4, 1, 1, 2, 2, 0, 0),
        (9, 2, 4, 6, 2, 2, 3, 1, 2, 1, 1),
    ]
    for n, c, h, w, f, kh, kw, sh, sw, ph, pw in specs:
        x = f32_inputs(n, c, h, w, gen=gen).requires_grad_(True)
        wt = f32_inputs(f, c, kh, kw, gen=gen).requires_grad_(True)
        b = f32_inputs(f, gen=gen).requires_grad_(True)
        y = F.conv2d(x, wt, b, stride=(sh, sw), padding=(ph, pw))
        dy = f32_inputs(*y.shape, gen=gen)
        dx, dw, db = torch.autograd.grad(y, (x, wt, b), dy)
        cases.append({
            "name": f"conv_n{n}c{c}h{h}w{w}f{f}k{kh}x{kw}s{sh}x{sw}p{ph}x{pw}",
            "stride": [sh, sw], "padding": [ph, pw],
            "x": t(x.detach()), "w": t(wt.detach()), "b": t(b.detach()),
            "y": t(y.detach()), "dy": t(dy), "dx": t(dx), "dw": t(dw), "db": t(db),
        })
    return cases


def pool_cases(gen):
    cases = []
    for kind, shape, k, s in [
        ("max", (2, 2, 9, 7), (3, 2), (2, 1)),
        ("max", (1, 3, 5, 5), (5, 5), (1, 1)),
        ("avg", (3, 1, 8, 9), (2, 3), (3, 2)),
        ("avg", (2, 2, 6, 6), (4, 4), (1, 1)),
    ]:
        x = f32_inputs(*shape, gen=gen).requires_grad_(True)
        pool = F.max_pool2d if kind == "max" else F.avg_pool2d
        y = pool(x, k, s)
        dy = f32_inputs(*y.shape, gen=gen)
        (dx,) = torch.autograd.grad(y, (x,), dy)
        cases.append({"name": f"{kind}pool_{'x'.join(map(str, shape))}_k{k[0]}x{k[1]}_s{s[0]}x{s[1]}",
                      "kind": kind, "kernel": list(k), "stride": list(s),
                      "x": t(x.detach()), "y": t(y.detach()), "dy": t(dy), "dx": t(dx)})
    # Ties: integer values, overlapping windows.
    x = torch.randint(0, 3, (2, 2, 6, 6), generator=gen).double().requires_grad_(True)
    y = F.max_pool2d(x, 3, 1)
    dy = f32_inputs(*y.shape, gen=gen)
    (dx,) = torch.autograd.grad(y, (x,), dy)
    cases.append({"name": "maxpool_ties_overlapping", "kind": "max", "kernel": [3, 3], "stride": [1, 1],
                  "x": t(x.detach()), "y": t(y.detach()), "dy": t(dy), "dx": t(dx)})
    return cases


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    gen = torch.Generator().manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    files = {
        "conv2d.json": ("conv2d (second set) y = conv2d(x, w, b, stride, padding)", conv_cases(gen)),
        "pool.json": ("pool (second set) max_pool2d / avg_pool2d without padding", pool_cases(gen)),
    }
    for name, (note, cases) in files.items():
        with open(os.path.join(args.out, name), "w") as fh:
            json.dump({"note": note, "cases": cases}, fh)
        print(f"wrote {os.path.join(args.out, name)} ({len(cases)} cases)")


if __name__ == "__main__":
    main()
