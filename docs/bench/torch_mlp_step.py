# PyTorch CPU peer of `dydiff bench mlp`: one TD3+BC-size critic step, two MLPs (S+A)=14 -> 256 -> 256 -> 1 with ReLU,
# batch 256, forward + backward + Adam. Not part of the build; run by hand for docs/performance.md:
#   /usr/bin/python3 docs/bench/torch_mlp_step.py THREADS
import sys
import time

import torch

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
torch.set_num_threads(threads)
torch.manual_seed(0)


def mlp():
    return torch.nn.Sequential(torch.nn.Linear(14, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256), torch.nn.ReLU(),
                               torch.nn.Linear(256, 1))


q1, q2 = mlp(), mlp()
opt = torch.optim.Adam(list(q1.parameters()) + list(q2.parameters()), lr=3e-4)
x = torch.randn(256, 14)
y = torch.randn(256, 1)


def step():
    loss = ((q1(x) - y) ** 2).mean() + ((q2(x) - y) ** 2).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


for _ in range(50):
    step()
times = []
for _ in range(7):
    n = 200
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    times.append((time.perf_counter() - t0) / n)
times.sort()
print(f'{{"workload":"mlp_critic_step","peer":"pytorch {torch.__version__}","threads":{threads},'
      f'"seconds_per_iter":{times[len(times) // 2]:.6g},"best":{times[0]:.6g}}}')
