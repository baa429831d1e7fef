#!/usr/bin/env bash
# The webgpu backend on a real GPU, in one run: the reference-vector and kernel tests, the matmul kernel's
# GFLOP/s at 4096×768×3072 next to PyTorch's fp32 matmul, tokens/s for configs A, B and C (GPT-2 small: 12 layers,
# 12 heads, d 768, context 1024, batch 8, vocab 50,304) next to PyTorch eager fp32 on the same card, and the
# run-length check (1,000 steps against 1,000 × the median step).
#
# Made for the device tool's GPU machines (no Node.js, no registry; python3 there has a CUDA torch):
#   1. here, once:   bash bench/webgpu-device-prep.sh        (packs .device/: node.xz + kit.tar.xz, ~31 MB)
#   2. device tool:  run(command="bash bench/webgpu-device.sh", carry=[".device"], timeout_s=600)
# What is carried: the node binary (xz), dist/ (compiled TypeScript), node_modules/webgpu with the linux-x64
# dawn.node, the other packages the entry points import, the reference vectors (reference/gpt-tiny), the PyTorch peer
# (scripts/make-reference.py, bench/torch_cuda_bench.py), and Debian's libvulkan1
# (the Vulkan loader, unpacked only when `ldconfig -p` has none). The NVIDIA Vulkan driver is the machine's own:
# its ICD is /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json there (exported as VK_DRIVER_FILES when present).
#
# Results: one JSON object per line in $OUT/results.jsonl (and on stdout), logs in $OUT/*.log. Each stage has its
# own time limit (570 s in all), so a hang in one still leaves the others' results; STAGES="tests matmul bench
# runlength" (the default) picks stages. Expected to take 3-5 minutes on an H100.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/webgpu-device-out}
mkdir -p "$OUT"
kit=/tmp/scaling-lab-kit
results="$OUT/results.jsonl"
: >"$results"
say() { echo "== $*" >&2; }
STAGES=${STAGES:-tests matmul bench runlength}
# sizes (override only to rehearse the script on a slow adapter such as lavapipe: MKN="256 128 256" CONFIGS=A
# BENCH_STEPS=2 RUN_STEPS=20)
read -r mm mk mn <<<"${MKN:-4096 768 3072}"
CONFIGS=${CONFIGS:-A,B,C}
BENCH_STEPS=${BENCH_STEPS:-10}
RUN_STEPS=${RUN_STEPS:-1000}
want() { case " $STAGES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
# step NAME SECONDS LOG CMD…: runs CMD under a time limit, its JSON lines to results.jsonl, its stderr to LOG; a
# failure or timeout still leaves a line {"stage","exit","timedOut","last"} (the log's last line) in results.jsonl
step() {
  local name=$1 limit=$2 log=$3
  shift 3
  timeout "$limit" "$@" 2>>"$log" | tee -a "$results"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then
    node -e 'const [n, rc, last] = process.argv.slice(1); console.log(JSON.stringify({ stage: n, exit: Number(rc), timedOut: rc === "124", last }))' \
      "$name" "$rc" "$(grep -v '^Warning: maxDynamic' "$log" | tail -n 1)" | tee -a "$results"
  fi
}

# ---------------------------------------------------------------- unpack
test -f .device/kit.tar.xz || { echo "no .device/kit.tar.xz: run bench/webgpu-device-prep.sh here and carry .device" >&2; exit 2; }
rm -rf "$kit" && mkdir -p "$kit"
tar -C "$kit" -xJf .device/kit.tar.xz
xz -dc .device/node.xz >"$kit/node" && chmod +x "$kit/node"
export PATH="$kit:$PATH"
rm -rf dist node_modules
cp -r "$kit/dist" dist
ln -s "$kit/node_modules" node_modules
# the reference vectors and the peer, where the checkout that travelled lacks them (files already here are kept)
(cd "$kit" && find reference scripts bench -type f) | while read -r f; do
  [ -e "$f" ] || { mkdir -p "$(dirname "$f")" && cp "$kit/$f" "$f"; }
done
if ! ldconfig -p | grep -q 'libvulkan.so.1'; then
  for f in "$kit"/debs/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -f "$icd" ] && [ -z "${VK_DRIVER_FILES:-}" ]; then export VK_DRIVER_FILES=$icd; fi
export CI=true # the webgpu tests fail instead of skipping when no adapter is found
say "node $(node --version); $(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>/dev/null)"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv >"$OUT/gpu.txt" 2>&1

# ---------------------------------------------------------------- 1. correctness on the GPU
if want tests; then
  say "reference vectors and kernels on the GPU"
  timeout 120 node --test dist/test/engine-webgpu.test.js >"$OUT/tests.log" 2>&1
  echo "{\"stage\":\"tests\",\"exit\":$?,\"summary\":\"$(grep -E '^# (pass|fail) ' "$OUT/tests.log" | tr '\n' ' ')\"}" | tee -a "$results"
  grep -E '^# webgpu/|^not ok' "$OUT/tests.log" >&2
fi

# ---------------------------------------------------------------- 2. matmul at 4096×768×3072
if want matmul; then
  say "matmul ${mm}x${mk}x${mn}: WGSL, then PyTorch fp32 (TF32 off)"
  step matmul 60 "$OUT/matmul.log" node dist/bench/webgpu-bench.js matmul --m "$mm" --k "$mk" --n "$mn"
  # the same kernel without Dawn's bounds-check transform (the kernels check their own bounds): a measurement only
  SCALING_LAB_DAWN_FLAGS=enable-dawn-features=disable_robustness \
    step matmul-unchecked 60 "$OUT/matmul.log" node dist/bench/webgpu-bench.js matmul --m "$mm" --k "$mk" --n "$mn"
  step matmul-pytorch 60 "$OUT/matmul-pytorch.log" python3 bench/torch_cuda_bench.py matmul --m "$mm" --k "$mk" --n "$mn"
fi

# ---------------------------------------------------------------- 3. tokens/s, configs A, B, C, with the CUDA peer
if want bench; then
  say "training throughput, configs $CONFIGS (ours and PyTorch eager fp32 on CUDA)"
  step bench 240 "$OUT/bench.log" node dist/bench/engine-bench.js --backend webgpu --config "$CONFIGS" --steps "$BENCH_STEPS" --warmup 3 --json
fi

# ---------------------------------------------------------------- 4. no host round trip inside a step
if want runlength; then
  say "run length: $RUN_STEPS steps of config A against $RUN_STEPS x the median step"
  step runlength 90 "$OUT/run-length.log" node dist/bench/webgpu-bench.js run-length --config A --steps "$RUN_STEPS"
fi

say "done: $results"
