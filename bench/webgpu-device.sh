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
# dawn.node, node_modules/zod, the reference vectors and torch_gpt.py from ../shared, and Debian's libvulkan1
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
want() { case " $STAGES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# ---------------------------------------------------------------- unpack
test -f .device/kit.tar.xz || { echo "no .device/kit.tar.xz: run bench/webgpu-device-prep.sh here and carry .device" >&2; exit 2; }
rm -rf "$kit" && mkdir -p "$kit"
tar -C "$kit" -xJf .device/kit.tar.xz
xz -dc .device/node.xz >"$kit/node" && chmod +x "$kit/node"
export PATH="$kit:$PATH"
rm -rf dist node_modules
cp -r "$kit/dist" dist
ln -s "$kit/node_modules" node_modules
mkdir -p ../shared
cp -r "$kit/shared/." ../shared/
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
  say "matmul 4096x768x3072: WGSL, then PyTorch fp32 (TF32 off)"
  timeout 60 node dist/bench/webgpu-bench.js matmul --m 4096 --k 768 --n 3072 2>"$OUT/matmul.log" | tee -a "$results"
  timeout 60 python3 bench/torch_cuda_bench.py matmul --m 4096 --k 768 --n 3072 2>>"$OUT/matmul.log" | tee -a "$results"
fi

# ---------------------------------------------------------------- 3. tokens/s, configs A, B, C, with the CUDA peer
if want bench; then
  say "training throughput, configs A, B, C (ours and PyTorch eager fp32 on CUDA)"
  timeout 240 node dist/bench/engine-bench.js --backend webgpu --config A,B,C --steps 10 --warmup 3 --json 2>"$OUT/bench.log" | tee -a "$results"
fi

# ---------------------------------------------------------------- 4. no host round trip inside a step
if want runlength; then
  say "run length: 1000 steps of config A against 1000 x the median step"
  timeout 90 node dist/bench/webgpu-bench.js run-length --config A --steps 1000 2>"$OUT/run-length.log" | tee -a "$results"
fi

say "done: $results"
