"""PyTorch peers for issue 22's table: timm's ViT-S/8 (SDPA attention) in eager mode and under
torch.compile, on the shapes `dinoclip bench` times. Random weights (speed only), input already on
the GPU, median of timed runs to completion. Run by scripts/gpu-lab-run.sh on the GPU machine.
Prints 'peer <name> <size> <precision> batch <b>: <ms> ms, <frames/s> frames/s'.
"""
import time
import torch
import timm

ITERS = 20


def vit(size, dtype):
    m = timm.create_model("vit_small_patch8_224", pretrained=False, img_size=size, num_classes=0)
    return m.cuda().eval().to(dtype)


def timed(name, fn, size, label, batch, dtype):
    x = torch.randn(batch, 3, size, size, device="cuda", dtype=dtype)
    with torch.inference_mode():
        for _ in range(3):
            fn(x)
        torch.cuda.synchronize()
        runs = []
        for _ in range(ITERS):
            t0 = time.perf_counter()
            fn(x)
            torch.cuda.synchronize()
            runs.append(time.perf_counter() - t0)
    ms = sorted(runs)[len(runs) // 2] * 1000
    print(f"peer {name} {size} {label} batch {batch}: {ms:.2f} ms, {batch * 1000 / ms:.1f} frames/s", flush=True)


print("torch", torch.__version__, "timm", timm.__version__, torch.cuda.get_device_name(0), flush=True)
cases = [(224, "bf16", (1, 16, 64)), (480, "bf16", (1, 16)), (224, "fp32", (1, 64)), (480, "fp32", (1, 16)),
         (224, "tf32", (1, 64)), (480, "tf32", (1, 16))]
for size, label, batches in cases:
    dtype = torch.bfloat16 if label == "bf16" else torch.float32
    torch.backends.cuda.matmul.allow_tf32 = label == "tf32"
    m = vit(size, dtype)
    for b in batches:
        timed("timm-eager", m.forward_features, size, label, b, dtype)
torch.backends.cuda.matmul.allow_tf32 = False
for size, batch, mode in ((224, 64, "default"), (224, 1, "reduce-overhead"), (480, 16, "default")):
    m = vit(size, torch.bfloat16)
    t0 = time.time()
    c = torch.compile(m.forward_features, mode=mode)
    with torch.inference_mode():
        c(torch.randn(batch, 3, size, size, device="cuda", dtype=torch.bfloat16))
    torch.cuda.synchronize()
    print(f"compile {size} b{batch} {mode} took {time.time() - t0:.1f} s", flush=True)
    timed(f"timm-compile-{mode}", c, size, "bf16", batch, torch.bfloat16)
