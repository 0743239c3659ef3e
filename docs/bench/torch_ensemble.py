# PyTorch CPU peer of `dydiff bench ensemble-train`: one training step of the dynamics ensemble (docs/algorithm.md
# §5.2), 7 members of (S+A)=14 -> 200 -> 200 -> 200 -> 200 -> 2S=22 with SiLU as batched (E, I, O) weights through
# torch.baddbmm, the bounded log-variance, the Gaussian loss, backward, Adam with per-layer coupled weight decay;
# batch 256. Not part of the build; run by hand for docs/performance.md:
#   /usr/bin/python3 docs/bench/torch_ensemble.py THREADS
import resource
import sys
import time

import torch
import torch.nn.functional as F

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
torch.set_num_threads(threads)
torch.manual_seed(0)

E, S, A, B, H = 7, 11, 3, 256, 200
MAX_LV, MIN_LV = 0.5, -10.0
DECAY = [2.5e-5, 5e-5, 7.5e-5, 7.5e-5, 1e-4]
widths = [S + A, H, H, H, H, 2 * S]

layers = []
for i, o in zip(widths[:-1], widths[1:]):
    bound = 1.0 / (i * o) ** 0.5  # U(±1/√(in·out)), the official code's kaiming_uniform(a=√5) on (E, in, out)
    w = torch.empty(E, i, o).uniform_(-bound, bound).requires_grad_()
    b = torch.empty(E, 1, o).uniform_(-bound, bound).requires_grad_()
    layers.append((w, b))
opt = torch.optim.Adam([{'params': [w, b], 'weight_decay': d} for (w, b), d in zip(layers, DECAY)], lr=1e-4)

x = torch.randn(E, B, S + A)
y = torch.randn(E, B, S)


def step():
    h = x
    for k, (w, b) in enumerate(layers):
        h = torch.baddbmm(b, h, w)
        if k + 1 < len(layers):
            h = F.silu(h)
    mean, raw = h[..., :S], h[..., S:]
    logvar = MAX_LV - F.softplus(MAX_LV - raw)
    logvar = MIN_LV + F.softplus(logvar - MIN_LV)
    loss = ((mean - y) ** 2 * torch.exp(-logvar)).mean() + logvar.mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


for _ in range(20):
    step()
times = []
for _ in range(7):
    n = 30
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    times.append((time.perf_counter() - t0) / n)
times.sort()
rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
print(f'{{"workload":"ensemble_train_step","peer":"pytorch {torch.__version__}","threads":{threads},'
      f'"seconds_per_iter":{times[len(times) // 2]:.6g},"best":{times[0]:.6g},"peak_rss_mib":{rss_mib:.1f}}}')
