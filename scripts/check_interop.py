#!/usr/bin/env python3
"""Checks the exported models with real clients: numpy + safetensors, onnxruntime, onnx.

Reads what `cargo test -p nn-interop` wrote (default folder target/tmp/interop): for each of
lenet5, seed_bn_net and residual (trained briefly on MNIST) and every_layer (each layer kind once),
NAME.safetensors, NAME.onnx and NAME.expected.json (every tensor's values, 100 input images and
the Rust eval-mode logits for them). Checks:

  1. safetensors.numpy.load_file gives exactly the tensors the Rust test wrote: same names,
     dtypes, shapes and values (bit for bit).
  2. onnx.checker.check_model(full_check=True) accepts the ONNX file (if the onnx package is
     installed), with opset and a free batch dimension as declared.
  3. onnxruntime runs it on the 100 images: max |logits - Rust logits| <= 1e-4 and the same
     predicted classes; again at batch 1 and 7, to check the dynamic batch dimension.

Exits 0 when all pass, 1 with one line per failure otherwise.
Usage: python3 scripts/check_interop.py [FOLDER]
"""
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from safetensors.numpy import load_file

TOLERANCE = 1e-4
REQUIRED = ("lenet5", "seed_bn_net", "residual", "every_layer")
DTYPES = {"F32": np.float32, "I64": np.int64}
failures = []


def fail(msg):
    print(f"FAIL {msg}", flush=True)
    failures.append(msg)


def as_array(entry):
    return np.array(entry["values"], dtype=DTYPES[entry["dtype"]]).reshape(entry["shape"])


def check_safetensors(name, path, expected):
    loaded = load_file(str(path))
    want = expected["tensors"]
    if set(loaded) != set(want):
        fail(f"{name}: safetensors names {sorted(loaded)} != {sorted(want)}")
        return
    for key, entry in want.items():
        got, exp = loaded[key], as_array(entry)
        if got.dtype != exp.dtype or got.shape != exp.shape:
            fail(f"{name}: {key} is {got.dtype}{got.shape}, expected {exp.dtype}{exp.shape}")
        elif not np.array_equal(got, exp):
            fail(f"{name}: {key} values differ (max {np.max(np.abs(got - exp))})")
    print(f"ok   {name}: safetensors, {len(want)} tensors equal to the Rust values", flush=True)


def check_onnx_structure(name, path):
    try:
        import onnx
    except ImportError:
        print(f"skip {name}: onnx not installed, no checker run", flush=True)
        return
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    opsets = {o.domain: o.version for o in model.opset_import}
    batch = model.graph.input[0].type.tensor_type.shape.dim[0]
    if batch.dim_param != "batch":
        fail(f"{name}: input batch dimension is {batch}, expected the free 'batch'")
    ops = [n.op_type for n in model.graph.node]
    print(f"ok   {name}: onnx.checker passes; opset {opsets.get('', '?')}, ir {model.ir_version}, "
          f"nodes {ops}", flush=True)


def check_onnxruntime(name, path, expected):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    images = as_array(expected["input"])
    want = as_array(expected["logits"])
    (got,) = session.run(None, {session.get_inputs()[0].name: images})
    diff = float(np.max(np.abs(got - want)))
    same = np.array_equal(np.argmax(got, axis=1), np.array(expected["predictions"]))
    if got.shape != want.shape or diff > TOLERANCE or not same:
        fail(f"{name}: onnxruntime logits differ by {diff} (shape {got.shape}), "
             f"same classes: {same}")
    else:
        print(f"ok   {name}: onnxruntime on {len(images)} images, max |diff| {diff:.2e}, "
              f"same classes", flush=True)
    for batch in (1, 7):
        (part,) = session.run(None, {session.get_inputs()[0].name: images[:batch]})
        d = float(np.max(np.abs(part - want[:batch])))
        if d > TOLERANCE:
            fail(f"{name}: batch {batch} logits differ by {d}")
    print(f"ok   {name}: batch sizes 1 and 7 run (dynamic batch)", flush=True)


def main():
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "target/tmp/interop")
    names = sorted(p.name[: -len(".expected.json")] for p in folder.glob("*.expected.json"))
    for required in REQUIRED:
        if required not in names:
            fail(f"{folder}/{required}.expected.json is missing: run `cargo test -p nn-interop`")
    for name in names:
        expected = json.loads((folder / f"{name}.expected.json").read_text())
        check_safetensors(name, folder / f"{name}.safetensors", expected)
        check_onnx_structure(name, folder / f"{name}.onnx")
        check_onnxruntime(name, folder / f"{name}.onnx", expected)
    if failures:
        print(f"{len(failures)} interop check(s) failed", flush=True)
        sys.exit(1)
    print("interop: all checks passed", flush=True)


if __name__ == "__main__":
    main()
