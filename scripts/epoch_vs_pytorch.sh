#!/usr/bin/env bash
# One LeNet5 training epoch on the full MNIST (60 000 images, batch 64, Adam 1e-3), 2 threads
# (THREADS=N for another count):
# PyTorch (../shared/peers/pytorch/lenet5.py) and ours (lenet5 train) back to back, ROUNDS times.
# Prints each run's train_s, inference rate and single-image latency, then the median ratios.
# The latency is the median of 2000 one-image predictions (ours: `latency_us=` of `lenet5 train`,
# PyTorch: scripts/torch_net.py --latency, the same network in eval mode under no_grad).
#
# Usage: scripts/epoch_vs_pytorch.sh [ROUNDS]   (needs the PyTorch venv at $TORCH_PY and the raw
#        MNIST files at $MNIST_RAW, see ../shared/peers/pytorch/README.md)
#
# NET=FILE.json times that network instead (ours with --net, PyTorch's module built from the same
# file by scripts/torch_net.py: Adam 1e-3, batch 64, cross-entropy); the epoch only.
#
# AVX2=1 measures both as an AVX2 machine without AVX-512 runs them: ours built without default
# features (a GEMM without AVX-512) and NN_FORCE_AVX2=1 (the SIMD kernels capped at AVX2);
# PyTorch with ONEDNN_MAX_CPU_ISA=AVX2 and MKL_ENABLE_INSTRUCTIONS=AVX2.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
threads=${THREADS:-2}
py=${TORCH_PY:-/tmp/torch-venv/bin/python3}
raw=${MNIST_RAW:-/tmp/mnist-raw}
peer=${LENET5_PY:-../shared/peers/pytorch/lenet5.py}
net_args=()
if [ -n "${NET:-}" ]; then
  peer_cmd=(scripts/torch_net.py "$NET")
  net_args=(--net "$NET")
else
  peer_cmd=("$peer")
fi
if [ "${AVX2:-0}" = 1 ]; then
  cargo build --release -q --bin lenet5 --no-default-features --target-dir target/avx2
  ours=(env NN_FORCE_AVX2=1 ./target/avx2/release/lenet5)
  torch_env=(ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2)
  echo "as an AVX2 machine: SIMD kernels and GEMM without AVX-512, PyTorch's oneDNN and MKL capped at AVX2"
else
  cargo build --release -q --bin lenet5
  ours=(./target/release/lenet5)
  torch_env=()
fi
out=$(mktemp -d)
for r in $(seq "$rounds"); do
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "${torch_env[@]}" "$py" "${peer_cmd[@]}" --threads "$threads" --epochs 1 --data "$raw" --seed 0 >"$out/torch.$r"
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "${torch_env[@]}" "$py" scripts/torch_net.py "${NET:-examples/networks/lenet5.json}" --latency --threads "$threads" --data "$raw" >"$out/torchlat.$r"
  "${ours[@]}" train "${net_args[@]}" --epochs 1 --threads "$threads" --quiet >"$out/ours.$r"
  echo "round $r: pytorch $(grep -o 'train_s=[0-9.]*' "$out/torch.$r") $(grep -o 'test_acc=[0-9.]*' "$out/torch.$r" | tail -1) $(grep -o 'infer_imgs_per_s=[0-9.]*' "$out/torch.$r" || true)"
  echo "round $r: pytorch $(grep -o 'latency_us=[0-9.]*' "$out/torchlat.$r")"
  echo "round $r: ours    $(grep -o 'train_s=[0-9.]*' "$out/ours.$r" | tail -1) $(grep -o 'infer_imgs_per_s=[0-9.]*' "$out/ours.$r") $(grep -o 'latency_us=[0-9.]*' "$out/ours.$r")"
  grep '^epoch=' "$out/ours.$r" | sed 's/^/         /'
done
python3 - "$out" "$rounds" <<'PY'
import re, statistics, sys, pathlib
out, rounds = pathlib.Path(sys.argv[1]), int(sys.argv[2])
def val(name, key):
    return float(re.findall(key + r"=([0-9.]+)", (out / name).read_text())[-1])
t = [val(f"torch.{r}", "train_s") for r in range(1, rounds + 1)]
o = [val(f"ours.{r}", "train_s") for r in range(1, rounds + 1)]
print(f"epoch: ours {statistics.median(o):.2f} s, pytorch {statistics.median(t):.2f} s, ratio {statistics.median(o) / statistics.median(t):.2f}")
if "infer_imgs_per_s" in (out / "torch.1").read_text():
    ti = [val(f"torch.{r}", "infer_imgs_per_s") for r in range(1, rounds + 1)]
    oi = [val(f"ours.{r}", "infer_imgs_per_s") for r in range(1, rounds + 1)]
    print(f"inference: ours {statistics.median(oi):.0f} img/s, pytorch {statistics.median(ti):.0f} img/s, ratio {statistics.median(oi) / statistics.median(ti):.2f}")
tl = [val(f"torchlat.{r}", "latency_us") for r in range(1, rounds + 1)]
ol = [val(f"ours.{r}", "latency_us") for r in range(1, rounds + 1)]
print(f"single-image latency: ours {statistics.median(ol):.1f} us, pytorch {statistics.median(tl):.1f} us, ratio {statistics.median(ol) / statistics.median(tl):.2f}")
PY
