#!/usr/bin/env bash
# Packs .device/ — everything bench/webgpu-device.sh needs on a GPU machine that has no Node.js and reaches no
# registry — from this checkout (run it here, from any directory, after `npm ci`):
#
#   .device/node.xz      this machine's node binary (self-contained apart from glibc/libstdc++), xz: ~24 MB
#   .device/kit.tar.xz   ~7 MB: dist/ (compiled TypeScript), node_modules/webgpu (index.js + the linux-x64
#                        dawn.node only), the packages the entry points import (bench/kit-deps.ts lists them:
#                        zod, hyparquet), the reference vectors reference/gpt-tiny/*.safetensors, the PyTorch
#                        peer (bench/torch_cuda_bench.py runs scripts/make-reference.py's model), and the Vulkan
#                        loader (Debian's libvulkan1 .deb)
#
# Then, with the device tool, carry ".device" (about 31 MB; the working tree that travels must stay ≤ 64 MiB):
#   run(command="bash bench/webgpu-device.sh", carry=[".device"], timeout_s=600)
# .gitignore lists /.device/, so it never lands in a commit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

echo "compiling (errors in files other engineers are editing are ignored; tsc still emits)" >&2
npx tsc -p . >/dev/null 2>&1 || true
test -f dist/test/engine-webgpu.test.js || { echo "dist/ lacks the webgpu test: fix the build first" >&2; exit 1; }
test -f node_modules/webgpu/dist/linux-x64/dawn.node || { echo "node_modules/webgpu missing: run npm ci" >&2; exit 1; }

rm -rf .device
stage=$(mktemp -d)
mkdir -p "$stage/node_modules/webgpu/dist/linux-x64" "$stage/reference/gpt-tiny" "$stage/scripts" "$stage/bench" "$stage/debs"
cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$stage/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$stage/node_modules/webgpu/dist/linux-x64/"
# every other package the three entry points import (statically or lazily), with its dependencies
entries="dist/test/engine-webgpu.test.js dist/bench/engine-bench.js dist/bench/webgpu-bench.js"
# shellcheck disable=SC2086
deps=$(node dist/bench/kit-deps.js $entries)
for p in $deps; do
  [ "$p" = webgpu ] && continue
  mkdir -p "$stage/node_modules/$(dirname "$p")"
  cp -r "node_modules/$p" "$stage/node_modules/$p"
done
rm -rf "$stage/node_modules/zod/src"
cp -r dist "$stage/dist"
cp reference/gpt-tiny/*.safetensors "$stage/reference/gpt-tiny/"
cp scripts/make-reference.py "$stage/scripts/"
cp bench/torch_cuda_bench.py "$stage/bench/"

# the Vulkan loader, amd64, as the device README describes (a private apt list so any host architecture works)
lists=$(mktemp -d)
mkdir -p "$lists/partial"
o="-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=$lists"
# shellcheck disable=SC2086
apt-get $o update -qq >/dev/null
# shellcheck disable=SC2086
(cd "$stage/debs" && apt-get $o download libvulkan1 >/dev/null)
rm -rf "$lists"

mkdir -p .device
echo "compressing node ($(du -h "$(command -v node)" | cut -f1)), about a minute" >&2
xz -T0 -6 -c "$(command -v node)" >.device/node.xz
tar -C "$stage" -cJf .device/kit.tar.xz .
rm -rf "$stage"
du -sh .device/* >&2
echo "ready: carry [\".device\"] and run: bash bench/webgpu-device.sh  (from $root)" >&2
