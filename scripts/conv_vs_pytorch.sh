#!/usr/bin/env bash
# Convolutions at eleven common shapes, batch 64: ours (criterion, `benches/benches/conv.rs`) and
# PyTorch (`conv_shapes.py`, the same names and shapes) back to back, ROUNDS times, then for each
# shape the ratio ours / PyTorch of the forward pass and of forward + all three gradients (medians
# over the rounds), and the geometric mean of each column. Below 1: we are faster.
#
# Usage: scripts/conv_vs_pytorch.sh [ROUNDS] [THREADS]   (defaults 3 and 2)
#   TORCH_PY     the PyTorch venv's python (default /tmp/torch-venv/bin/python3; see
#                ../shared/peers/pytorch/README.md)
#   CONV_SHAPES  PyTorch's script (default ../shared/peers/pytorch/conv_shapes.py)
#   AVX2=1       both capped at AVX2: our kernels (NN_FORCE_AVX2=1) and GEMM (no `avx512`
#                feature), PyTorch's oneDNN (ONEDNN_MAX_CPU_ISA=AVX2) and MKL (MKL_ENABLE_INSTRUCTIONS=AVX2)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
threads=${2:-2}
py=${TORCH_PY:-/tmp/torch-venv/bin/python3}
shapes=${CONV_SHAPES:-../shared/peers/pytorch/conv_shapes.py}
features=()
if [[ "${AVX2:-0}" == 1 ]]; then
  export NN_FORCE_AVX2=1 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2
  features=(--no-default-features)
fi
out=$(mktemp -d)
cargo bench -p benches --bench conv "${features[@]}" --no-run >/dev/null 2>&1
for r in $(seq "$rounds"); do
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$py" "$shapes" --threads "$threads" >"$out/torch.$r" 2>&1
  cargo bench -p benches --bench conv "${features[@]}" -- --warm-up-time 1 --measurement-time 2 \
    "/t$threads/(forward|fwd_bwd)" >/dev/null 2>&1
  python3 scripts/criterion_medians.py "/t$threads/" >"$out/ours.$r"
done
python3 - "$out" "$rounds" "$threads" <<'PY'
import math, re, statistics, sys, pathlib
out, rounds, threads = pathlib.Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
torch, ours, order = {}, {}, []
for r in range(1, rounds + 1):
    for line in (out / f"torch.{r}").read_text().splitlines():
        m = re.match(r"conv=(\w+) threads=\d+ fwd_us=([\d.]+) fwdbwd_us=([\d.]+)", line)
        if m:
            if m[1] not in order:
                order.append(m[1])
            torch.setdefault((m[1], "forward"), []).append(float(m[2]))
            torch.setdefault((m[1], "fwd_bwd"), []).append(float(m[3]))
    for line in (out / f"ours.{r}").read_text().splitlines():
        m = re.match(rf"(\w+)/t{threads}/(forward|fwd_bwd)\s+([\d.]+) us", line)
        if m:
            ours.setdefault((m[1], m[2]), []).append(float(m[3]))
print(f"threads={threads}, batch 64, medians over {rounds} back-to-back rounds; ratio = ours / PyTorch")
print(f"{'shape':10s} {'fwd ours':>10s} {'fwd torch':>10s} {'ratio':>6s}   {'f+b ours':>10s} {'f+b torch':>10s} {'ratio':>6s}")
logs = {"forward": [], "fwd_bwd": []}
for name in order:
    cells = []
    for kind in ("forward", "fwd_bwd"):
        if (name, kind) not in ours:
            cells.append(f"{'-':>10s} {'-':>10s} {'-':>6s}")
            continue
        o, t = statistics.median(ours[(name, kind)]), statistics.median(torch[(name, kind)])
        logs[kind].append(math.log(o / t))
        cells.append(f"{o:10.0f} {t:10.0f} {o / t:6.2f}")
    print(f"{name:10s} {cells[0]}   {cells[1]}")
gm = {k: math.exp(sum(v) / len(v)) if v else float("nan") for k, v in logs.items()}
print(f"{'geomean':10s} {'':10s} {'':10s} {gm['forward']:6.2f}   {'':10s} {'':10s} {gm['fwd_bwd']:6.2f}")
PY
