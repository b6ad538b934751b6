#!/usr/bin/env bash
# Conv fwd+bwd (forward, input, weight and bias gradients) at the LeNet5 shapes, batch 64, 2 threads:
# ours (criterion) and PyTorch (conv_micro.py) back to back, ROUNDS times, then the ratios.
#
# Usage: scripts/conv_vs_pytorch.sh [ROUNDS]   (needs the PyTorch venv of
#        ../shared/peers/pytorch/README.md at $TORCH_PY, default /tmp/torch-venv/bin/python3)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
py=${TORCH_PY:-/tmp/torch-venv/bin/python3}
micro=${CONV_MICRO:-../shared/peers/pytorch/conv_micro.py}
out=$(mktemp -d)
cargo bench -p benches --bench conv --no-run >/dev/null 2>&1
for r in $(seq "$rounds"); do
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$py" "$micro" --threads 2 --repeats 200 >"$out/torch.$r" 2>&1
  cargo bench -p benches --bench conv -- --warm-up-time 1 --measurement-time 3 't2/fwd_bwd' >/dev/null 2>&1
  python3 scripts/criterion_medians.py t2/fwd_bwd >"$out/ours.$r"
done
python3 - "$out" "$rounds" <<'PY'
import re, statistics, sys, pathlib
out, rounds = pathlib.Path(sys.argv[1]), int(sys.argv[2])
torch, ours = {}, {}
for r in range(1, rounds + 1):
    for line in (out / f"torch.{r}").read_text().splitlines():
        m = re.match(r"conv=(\w+) threads=2 .*fwdbwd_us=([\d.]+)", line)
        if m:
            torch.setdefault(m[1], []).append(float(m[2]))
    for line in (out / f"ours.{r}").read_text().splitlines():
        m = re.match(r"(\w+)/t2/fwd_bwd\s+([\d.]+) us", line)
        if m:
            ours.setdefault(m[1], []).append(float(m[2]))
print(f"{'layer':6s} {'ours us':>10s} {'torch us':>10s} {'ratio':>6s}   (medians over {rounds} back-to-back rounds)")
tot_o = tot_t = 0.0
for layer in sorted(torch):
    o, t = statistics.median(ours[layer]), statistics.median(torch[layer])
    tot_o += o; tot_t += t
    print(f"{layer:6s} {o:10.0f} {t:10.0f} {o / t:6.2f}")
print(f"{'sum':6s} {tot_o:10.0f} {tot_t:10.0f} {tot_o / tot_t:6.2f}")
PY
