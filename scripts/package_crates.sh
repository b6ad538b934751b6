#!/usr/bin/env bash
# Packages every library crate the way `cargo publish` would, and verifies each package by
# building it alone from its packaged sources (cargo resolves our crates among the packages of
# this run through a temporary local registry), in stack order. Then lists what each package holds.
#
# Usage: scripts/package_crates.sh [extra cargo package flags, e.g. --allow-dirty]
set -euo pipefail
cd "$(dirname "$0")/.."
crates=(nn-atomic-write core-tensor nn-layers nn-optim nn-data nn-train nn-interop)
args=()
for c in "${crates[@]}"; do
  args+=(-p "$c")
  # Cargo reuses its extraction of a package from an earlier run's local registry (keyed by the
  # registry's path, not the package's contents): clear ours, or a second run verifies stale code.
  rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/"$c"-[0-9]*
done
rm -rf target/package
cargo package "${args[@]}" "$@"
for c in "${crates[@]}"; do
  file=$(ls target/package/"$c"-*.crate | sort -V | tail -n 1)
  printf '%-12s %8s bytes, %s files\n' "$c" "$(stat -c %s "$file")" "$(tar -tzf "$file" | wc -l)"
done
