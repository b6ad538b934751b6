#!/usr/bin/env python3
"""Checks that every crate in the dependency tree (normal, build and dev dependencies, all
platforms) may be used by a project licensed `MIT OR Apache-2.0`: its declared SPDX licence
expression must be satisfiable by the licences allowed below. Uses `cargo metadata` only (no
network beyond what cargo needs, no other tool). Prints one line per crate that fails, or a
summary, and exits non-zero on any failure.

Usage: python3 scripts/check_licences.py
"""
import json
import re
import subprocess
import sys

# Permissive licences compatible with distributing the whole under MIT OR Apache-2.0.
ALLOWED = {
    "MIT",
    "Apache-2.0",
    "Apache-2.0 WITH LLVM-exception",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "0BSD",
    "ISC",
    "Zlib",
    "Unlicense",
    "Unicode-3.0",
    "Unicode-DFS-2016",
    "CC0-1.0",
    "BSL-1.0",
}


def tokens(expr):
    # Older crates write "MIT/Apache-2.0" for "MIT OR Apache-2.0".
    expr = re.sub(r"\s*/\s*", " OR ", expr)
    return re.findall(r"\(|\)|[A-Za-z0-9.+-]+", expr)


def satisfiable(expr):
    """Whether the SPDX expression holds when exactly the ALLOWED licences may be chosen."""
    toks = tokens(expr)
    pos = 0

    def peek():
        return toks[pos] if pos < len(toks) else None

    def take():
        nonlocal pos
        pos += 1
        return toks[pos - 1]

    def primary():
        if peek() == "(":
            take()
            value = disjunction()
            if take() != ")":
                raise ValueError(f"unbalanced parentheses in {expr!r}")
            return value
        name = take()
        if peek() == "WITH":
            take()
            name = f"{name} WITH {take()}"
        return name in ALLOWED

    def conjunction():
        value = primary()
        while peek() == "AND":
            take()
            value = primary() and value
        return value

    def disjunction():
        value = conjunction()
        while peek() == "OR":
            take()
            value = conjunction() or value
        return value

    result = disjunction()
    if pos != len(toks):
        raise ValueError(f"cannot read {expr!r}")
    return result


def main():
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    failures = []
    for p in meta["packages"]:
        expr = p.get("license")
        if not expr:
            failures.append(f"{p['name']} {p['version']}: no SPDX licence (license-file: {p.get('license_file')})")
            continue
        try:
            ok = satisfiable(expr)
        except (ValueError, IndexError) as e:
            failures.append(f"{p['name']} {p['version']}: {e}")
            continue
        if not ok:
            failures.append(f"{p['name']} {p['version']}: {expr} allows none of the accepted licences")
    for line in failures:
        print(f"licence: {line}")
    print(f"licences: {len(meta['packages'])} crates checked, {len(failures)} not accepted")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
