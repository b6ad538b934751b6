#!/usr/bin/env bash
# Cold release build of each library crate alone, with and without its default features, as a
# user's project that depends on it gets it (its own workspace and target folder, the default
# release profile). Prints the seconds and the number of crates in the dependency tree.
#
# Usage: scripts/cold_builds.sh [WORK_DIR]   (default /tmp/coldbuild; needs bc)
#        CRATES="nn-interop nn-interop:nodef" builds only those (CRATE:nodef: without default features).
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/coldbuild}
mkdir -p "$work"
out=$work/times.txt
: > "$out"
for spec in ${CRATES:-nn-atomic-write core-tensor nn-layers nn-optim nn-data nn-train nn-train:nodef nn-interop nn-interop:nodef}; do
  crate=${spec%%:*}; extra=""
  [[ $spec == *:nodef ]] && extra=", default-features = false"
  dir=$work/p-${spec/:/-}
  rm -rf "$dir"; mkdir -p "$dir/src"
  printf '[package]\nname = "cold"\nversion = "0.1.0"\nedition = "2024"\n[workspace]\n[dependencies]\n%s = { path = "%s/%s"%s }\n' "$crate" "$repo" "$crate" "$extra" > "$dir/Cargo.toml"
  echo 'fn main() {}' > "$dir/src/main.rs"
  (cd "$dir" && cargo fetch -q 2>/dev/null)
  start=$(date +%s.%N)
  (cd "$dir" && CARGO_TARGET_DIR="$dir/target" cargo build --release -q 2>&1 | tail -2)
  end=$(date +%s.%N)
  crates=$(cd "$dir" && cargo tree -e normal --prefix none 2>/dev/null | sort -u | wc -l)
  printf '%s %.1f s, %s crates in the tree\n' "$spec" "$(echo "$end - $start" | bc)" "$crates" >> "$out"
done
cat "$out"
