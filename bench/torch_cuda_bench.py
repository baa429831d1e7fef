#!/usr/bin/env python3
"""PyTorch eager fp32 on CUDA: the GPU peer of `npm run bench -- --backend webgpu`.

Reuses the GPT of ../shared/peers/torch_gpt.py (the same architecture, init, AdamW and clipping as the CPU peer)
and moves it to a CUDA device. TF32 is switched off, so matmuls are true fp32 like the WGSL kernels.

  bench   times training steps (forward + backward + clip + AdamW, loss read back every step) and prints one JSON
          line in torch_gpt.py's format: tokens_per_s, median_step_s, model_gflops_per_s.
  matmul  GFLOP/s of an fp32 x @ w.T at M x K x N (default 4096 x 768 x 3072), the practical fp32 ceiling.

Finds torch_gpt.py in $TORCH_GPT_DIR, ../shared/peers (beside the repository) or .device/peers.
"""
import argparse, json, os, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
for d in (os.environ.get("TORCH_GPT_DIR"), os.path.join(HERE, "..", "..", "shared", "peers"), os.path.join(HERE, "..", ".device", "peers")):
    if d and os.path.exists(os.path.join(d, "torch_gpt.py")):
        sys.path.insert(0, d)
        break
import torch  # noqa: E402
from torch_gpt import GPT  # noqa: E402


def fp32_only():
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")


def bench(args):
    fp32_only()
    dev = torch.device(args.device)
    model = GPT(args.vocab, args.ctx, args.d, args.heads, args.layers).to(dev)
    opt = model.optimizer(lr=3e-4, wd=0.1)
    g = torch.Generator().manual_seed(0)

    def step():
        idx = torch.randint(0, args.vocab, (args.batch, args.ctx), generator=g).to(dev, non_blocking=True)
        tgt = torch.randint(0, args.vocab, (args.batch, args.ctx), generator=g).to(dev, non_blocking=True)
        _, loss = model(idx, tgt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item(), norm.item()  # the loss and the gradient norm come down, as in scaling-lab

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    med = times[len(times) // 2]
    tokens = args.batch * args.ctx
    n = model.n_params(non_embedding=False) - model.P["wpe"].numel()
    flops_per_token = 6 * n + 12 * args.layers * args.d * args.ctx
    tps = tokens / med
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    print(json.dumps(dict(
        engine=f"pytorch-{torch.__version__}-{dev.type}-fp32-eager", device=name, vocab=args.vocab, ctx=args.ctx,
        d_model=args.d, heads=args.heads, layers=args.layers, batch=args.batch, params=model.n_params(),
        median_step_s=round(med, 5), tokens_per_s=round(tps, 1), model_gflops_per_s=round(flops_per_token * tps / 1e9, 2))))


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
