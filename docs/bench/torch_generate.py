# PyTorch CPU peer of `dydiff bench generate`: one RL-time generation of the DyDiff loop (docs/algorithm.md
# §4.2-§4.5) with randomly initialised models at an env's dims, as dydiff/cli/bench.cpp's bench_generate builds them:
#   - B_roll start states uniform in the env's observation box, in chunks of 256;
#   - the policy: a TD3+BC actor (z-scored obs -> 256 -> 256 ReLU -> tanh), deterministic;
#   - the one-step ensemble: 7 members of (S + A) -> 200 x 4 SiLU -> 2S as batched (E, I, O) weights, every member
#     evaluated, one of 5 elites per sample, next obs = obs + mean delta in z-scored space;
#   - M refinements: the temporal U-Net of torch_unet.py (the preset's horizon), EDM's Heun sampler with churn and
#     in-painting of s0 and the actions (state in float64, the network in float32, as ours), the average with the
#     previous states, the policy relabelling every action; a fresh latent per refinement;
#   - the reward model (z-scored obs, action -> 256 -> 256 ReLU -> 1), the return over the window, the hardmax filter
#     keeping 60% (numpy's linear quantile), the kept trajectories cut into transitions at the termination function
#     (maze2d and pendulum never terminate; the cut is still computed).
# Not part of the build; run by hand for docs/performance.md:
#   /usr/bin/python3 docs/bench/torch_generate.py THREADS [tiny|small] [maze2d-umaze|pendulum] [B] [N] [M] [SECONDS]
# Defaults: tiny, maze2d-umaze, B = 2048, N = 18 sampler steps, M = 2, SECONDS = 0 (one warm-up chunk, then whole
# generations until SECONDS have passed, at least one). Prints one JSON line like dydiff bench generate --json.
import json
import math
import os
import resource
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_unet import PRESETS, UNet, denoise  # noqa: E402  (the same network as the unet benchmarks)

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
preset = sys.argv[2] if len(sys.argv) > 2 else 'tiny'
env = sys.argv[3] if len(sys.argv) > 3 else 'maze2d-umaze'
B_ROLL = int(sys.argv[4]) if len(sys.argv) > 4 else 2048
N = int(sys.argv[5]) if len(sys.argv) > 5 else 18
M = int(sys.argv[6]) if len(sys.argv) > 6 else 2
seconds = float(sys.argv[7]) if len(sys.argv) > 7 else 0.0
torch.set_num_threads(threads)
torch.manual_seed(0)

HORIZON = {'tiny': 32, 'small': 64, 'paper': 100}[preset]  # DiffusionTrainConfig::apply_preset
CHUNK, KEEP, ELITES = 256, 0.6, 5
# Observation and action boxes close to our envs' (dydiff/envs; the values do not change the work): maze2d-umaze
# (x, y, vx, vy), pendulum (cos, sin, thetadot).
BOXES = {'maze2d-umaze': ([0.5, 0.5, -5.0, -5.0], [3.5, 3.5, 5.0, 5.0], 2, 1.0),
         'pendulum': ([-1.0, -1.0, -8.0], [1.0, 1.0, 8.0], 1, 2.0)}
obs_lo, obs_hi, A, max_action = BOXES[env]
obs_lo, obs_hi = torch.tensor(obs_lo), torch.tensor(obs_hi)
S = obs_lo.numel()
act_lo, act_hi = -max_action * torch.ones(A), max_action * torch.ones(A)

# Sampler constants (docs/algorithm.md §6.2).
SIGMA_MIN, SIGMA_MAX, RHO = 0.002, 80.0, 7.0
S_CHURN, S_MIN, S_MAX, S_NOISE = 60.0, 0.3699492132558657, 52.241950650433864, 1.002


def mlp(widths, act):
    layers = []
    for k, (i, o) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(i, o))
        if k + 2 < len(widths):
            layers.append(act())
    return nn.Sequential(*layers)


pool = obs_lo + torch.rand(4096, S) * (obs_hi - obs_lo)
obs_mean, obs_std = pool.mean(0), pool.std(0)
actor = mlp([S, 256, 256, A], nn.ReLU)
reward_model = mlp([S + A, 256, 256, 1], nn.ReLU)
E, HID = 7, 200
ens = []
for i, o in zip([S + A, HID, HID, HID, HID], [HID, HID, HID, HID, 2 * S]):
    bound = 1.0 / math.sqrt(i * o)
    ens.append((torch.empty(E, i, o).uniform_(-bound, bound), torch.empty(E, 1, o).uniform_(-bound, bound)))
net = UNet(S + A, *PRESETS[preset])


def z(obs):
    return (obs - obs_mean) / obs_std


def policy(obs):  # raw obs -> raw action
    return torch.tanh(actor(z(obs))) * max_action


def ensemble_step(obs, act):
    h = torch.cat([z(obs), act], dim=1).expand(E, -1, -1)
    for k, (w, b) in enumerate(ens):
        h = torch.baddbmm(b, h, w)
        if k + 1 < len(ens):
            h = nn.functional.silu(h)
    pick = torch.randint(0, ELITES, (obs.shape[0],))
    delta = h[pick, torch.arange(obs.shape[0]), :S]
    return (z(obs) + delta) * obs_std + obs_mean


def to_model(x, lo, hi):  # min-max to [-1, 1]
    return 2.0 * (x - lo) / (hi - lo) - 1.0


def to_raw(x, lo, hi):
    return (x + 1.0) * 0.5 * (hi - lo) + lo


def sigma_steps():
    i = torch.arange(N, dtype=torch.float64)
    t = (SIGMA_MAX ** (1 / RHO) + i / (N - 1) * (SIGMA_MIN ** (1 / RHO) - SIGMA_MAX ** (1 / RHO))) ** RHO
    return torch.cat([t, torch.zeros(1, dtype=torch.float64)]).tolist()


def sample(xi, s0, actions):  # model scale; s0 (B, S), actions (B, H, A) -> (B, H, S + A) float64
    t = sigma_steps()

    def inpaint(x):
        x[:, 0, :S] = s0
        x[:, :, S:] = actions

    def den(x, sigma):
        return denoise(net, x.float(), torch.full((x.shape[0],), sigma)).double()

    x = xi.double() * t[0]
    inpaint(x)
    gamma_max = min(S_CHURN / N, math.sqrt(2) - 1)
    for i in range(N):
        t_cur, t_next = t[i], t[i + 1]
        gamma = gamma_max if S_MIN <= t_cur <= S_MAX else 0.0
        t_hat = t_cur * (1 + gamma)
        x_hat = x + math.sqrt(t_hat ** 2 - t_cur ** 2) * S_NOISE * torch.randn_like(x) if gamma > 0 else x
        d_cur = (x_hat - den(x_hat, t_hat)) / t_hat
        x = x_hat + (t_next - t_hat) * d_cur
        inpaint(x)
        if i + 1 < N:
            d_prime = (x - den(x, t_next)) / t_next
            x = x_hat + (t_next - t_hat) * (0.5 * d_cur + 0.5 * d_prime)
            inpaint(x)
    return x


def relabel(states_model):  # (B, H, S) model scale -> actions (B, H, A) model scale
    b, h = states_model.shape[:2]
    raw = to_raw(states_model.reshape(b * h, S), obs_lo, obs_hi)
    return to_model(policy(raw), act_lo, act_hi).reshape(b, h, A)


def rollout_chunk(s0):
    states, actions, s = [], [], s0
    for t in range(HORIZON):  # Algorithm 2's initial trajectory
        a = policy(s)
        states.append(s)
        actions.append(a)
        if t + 1 < HORIZON:
            s = ensemble_step(s, a)
    states = to_model(torch.stack(states, 1), obs_lo, obs_hi)
    actions = to_model(torch.stack(actions, 1), act_lo, act_hi)
    x0 = states[:, 0].clone()
    for m in range(M):
        xi = torch.randn(s0.shape[0], HORIZON, S + A)
        dm = sample(xi, x0.double(), actions.double())[..., :S].float()
        states = 0.5 * (dm + states)
        states[:, 0] = x0
        actions = relabel(states)
    return to_raw(states, obs_lo, obs_hi), to_raw(actions, act_lo, act_hi)


def terminated(obs, act, next_obs):  # maze2d and pendulum never terminate
    return torch.zeros(obs.shape[0], dtype=torch.bool)


def generation(B):
    starts = pool[torch.randint(0, pool.shape[0], (B,))]
    parts = [rollout_chunk(starts[c:c + CHUNK]) for c in range(0, B, CHUNK)]
    states = torch.cat([p[0] for p in parts])
    actions = torch.cat([p[1] for p in parts])
    states[:, 0] = starts  # s0 is the real observation, not its round trip
    r = reward_model(torch.cat([z(states), actions], dim=2)).squeeze(2)  # (B, H)
    returns = r.sum(1)
    threshold = torch.quantile(returns.double(), 1.0 - KEEP)  # linear interpolation, as numpy
    kept = (returns.double() >= threshold).nonzero().squeeze(1)
    n = 0
    obs, act, nxt = states[kept, :-1], actions[kept, :-1], states[kept, 1:]
    done = terminated(obs.reshape(-1, S), act.reshape(-1, A), nxt.reshape(-1, S)).reshape(obs.shape[:2])
    alive = torch.cumsum(done.int(), 1) - done.int() == 0  # up to and including the first termination
    n = int(alive.sum())
    return n


with torch.no_grad():
    generation(min(B_ROLL, CHUNK))  # warm-up, as dydiff bench
    times, transitions = [], 0
    start = time.perf_counter()
    while not times or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        transitions = generation(B_ROLL)
        times.append(time.perf_counter() - t0)
times.sort()
median = times[len(times) // 2]
print(json.dumps({'workload': 'generate', 'peer': 'pytorch ' + torch.__version__, 'preset': preset, 'env': env,
                  'horizon': HORIZON, 'starts': B_ROLL, 'chunk': CHUNK, 'refinements': M, 'num_steps': N,
                  'threads': threads, 'transitions': transitions,
                  'transitions_per_second': transitions / median, 'trajectories_per_second': B_ROLL / median,
                  'seconds_per_generation': median, 'best_seconds_per_generation': times[0],
                  'iterations': len(times),
                  'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
