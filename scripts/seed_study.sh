#!/usr/bin/env bash
# The default LeNet5 recipe (2 epochs, or $EPOCHS; batch 64, Adam 1e-3, full MNIST, 2 threads) over many seeds,
# ours (`lenet5 train`) and PyTorch's (../shared/peers/pytorch/lenet5.py) one after the other, so
# that a single run's test accuracy can be read against the spread that the seed alone causes.
# Prints one line per run, then per framework: mean, standard deviation, min, max and how many
# runs reach the issue's bar (97.5 % after 2 epochs, 98.9 % after 10).
#
# Usage: scripts/seed_study.sh [FIRST_SEED] [LAST_SEED] [ours|pytorch|both]
#        (PyTorch needs the venv at $TORCH_PY and the raw MNIST files at $MNIST_RAW, see
#        ../shared/peers/pytorch/README.md)
set -euo pipefail
cd "$(dirname "$0")/.."
first=${1:-0}
last=${2:-19}
which=${3:-both}
epochs=${EPOCHS:-2}
py=${TORCH_PY:-/tmp/torch-venv/bin/python3}
raw=${MNIST_RAW:-/tmp/mnist-raw}
peer=${LENET5_PY:-../shared/peers/pytorch/lenet5.py}
out=${SEED_STUDY_OUT:-$(mktemp -d)}
mkdir -p "$out"
cargo build --release -q --bin lenet5
for s in $(seq "$first" "$last"); do
  if [[ $which != pytorch ]]; then
    ./target/release/lenet5 train --threads 2 --quiet --epochs "$epochs" --seed "$s" >"$out/ours.$s"
    echo "seed $s: ours    $(tail -1 "$out/ours.$s")"
  fi
  if [[ $which != ours ]]; then
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$py" "$peer" --threads 2 --epochs "$epochs" \
      --data "$raw" --seed "$s" >"$out/torch.$s"
    echo "seed $s: pytorch $(grep -o 'test_acc=[0-9.]*' "$out/torch.$s" | tail -1)"
  fi
done
python3 - "$out" "$first" "$last" "$epochs" <<'PY'
import re, statistics, sys, pathlib
out, first, last = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
bar = 98.9 if int(sys.argv[4]) >= 10 else 97.5
for name, prefix in (("ours", "ours"), ("pytorch", "torch")):
    accs = []
    for s in range(first, last + 1):
        f = out / f"{prefix}.{s}"
        if f.exists():
            accs.append(100 * float(re.findall(r"test_acc=([0-9.]+)", f.read_text())[-1]))
    if not accs:
        continue
    sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
    reach = sum(a >= bar for a in accs)
    print(f"{name}: seeds {first}-{last}, n={len(accs)}, mean {statistics.mean(accs):.2f} %, "
          f"sd {sd:.2f}, min {min(accs):.2f}, max {max(accs):.2f}, >= {bar} %: {reach} of {len(accs)}")
PY
echo "runs kept in $out"
