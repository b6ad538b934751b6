#!/usr/bin/env python3
"""Prints the median of every criterion benchmark under target/criterion, one line each.

Usage: python3 scripts/criterion_medians.py [FILTER]
Reads target/criterion/**/new/estimates.json (written by `cargo bench -p benches`).
"""
import json
import pathlib
import sys

root = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"
pattern = sys.argv[1] if len(sys.argv) > 1 else ""
rows = []
for est in sorted(root.glob("**/new/estimates.json")):
    bench = json.loads((est.parent / "benchmark.json").read_text())
    name = bench.get("full_id") or str(est.parent.parent.relative_to(root))
    if pattern not in name:
        continue
    median_ns = json.loads(est.read_text())["median"]["point_estimate"]
    rows.append((name, median_ns))
for name, ns in rows:
    print(f"{name:45s} {ns / 1e3:10.1f} us")
