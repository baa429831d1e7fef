#!/usr/bin/env python3
"""PyTorch eager fp32 on CUDA: the GPU peer of `npm run bench -- --backend webgpu`.

Runs the GPT of scripts/make-reference.py (the project's PyTorch reference: the same architecture, init, AdamW and
clipping as the CPU peer, `make-reference.py bench`) on a CUDA device. TF32 is switched off, so matmuls are true
fp32 like the WGSL kernels.

  bench   times training steps (forward + backward + clip + AdamW, loss and gradient norm read back every step) and
          prints one JSON line: tokens_per_s, median_step_s, model_gflops_per_s.
  matmul  GFLOP/s of an fp32 x @ w.T at M x K x N (default 4096 x 768 x 3072), the practical fp32 ceiling.
"""
import argparse, importlib.util, json, os, time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def reference_model():
    """scripts/make-reference.py as a module (its file name is not an identifier)."""
    spec = importlib.util.spec_from_file_location("make_reference", os.path.join(HERE, "..", "scripts", "make-reference.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fp32_only():
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")


def bench(args):
    fp32_only()
    args.threads = torch.get_num_threads()
    reference_model().cmd_bench(args)


def matmul(args):
    fp32_only()
    dev = torch.device(args.device)
    x = torch.randn(args.m, args.k, device=dev)
    w = torch.randn(args.n, args.k, device=dev)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)  # cpu: rehearse the script anywhere
    for _ in range(3):
        y = x @ w.t()
    sync()
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(args.reps):
            y = x @ w.t()
        sync()
        best = min(best, (time.perf_counter() - t0) / args.reps)
    del y
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    print(json.dumps(dict(engine=f"pytorch-{torch.__version__}-{dev.type}-fp32", device=name,
                          m=args.m, k=args.k, n=args.n, gflops=round(2 * args.m * args.k * args.n / best / 1e9, 1))))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bench")
    b.add_argument("--vocab", type=int, default=256); b.add_argument("--ctx", type=int, default=128)
    b.add_argument("--d", type=int, default=128); b.add_argument("--heads", type=int, default=4)
    b.add_argument("--layers", type=int, default=4); b.add_argument("--batch", type=int, default=32)
    b.add_argument("--warmup", type=int, default=3); b.add_argument("--steps", type=int, default=10)
    b.add_argument("--device", default="cuda")
    m = sub.add_parser("matmul")
    m.add_argument("--m", type=int, default=4096); m.add_argument("--k", type=int, default=768)
    m.add_argument("--n", type=int, default=3072); m.add_argument("--reps", type=int, default=20)
    m.add_argument("--device", default="cuda")
    args = ap.parse_args()
    {"bench": bench, "matmul": matmul}[args.cmd](args)


if __name__ == "__main__":
    main()
