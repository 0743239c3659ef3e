# PyTorch CPU peer of `dydiff bench learner`: gradient steps per second of BC, TD3+BC (canonical), IQL, CQL and
# Diffusion-QL written as dydiff/learners/*.cpp run them (docs/algorithm.md §5.4): the same networks, losses, update
# order, frozen critics during actor losses, gradient clipping and target updates, with the default configs of
# dydiff/learners/configs.hpp. Hopper dims S = 11, A = 3, batch 256; the batches come from a FIXED pool of 8 random
# batches made before the timing and cycled (as the C++ side); each step starts from the raw batch (z-score, action
# box -> [-1, 1], reward affine map, 1 - done), as Learner::update does. Timing: one warm-up block of 10 steps, then
# blocks of 10 steps timed with a monotonic clock, the median block reported per step (TD3+BC's actor runs on every
# 2nd step, so a block of 10 averages it exactly). Not part of the build; run by hand for docs/performance.md:
#   /usr/bin/python3 docs/bench/torch_learners.py --algo cql --threads 1 --steps 300
import argparse
import json
import math
import os
import sys
import time


def threads_flag():
    """--threads N, read before torch is imported so that OpenBLAS's own pool gets the same count."""
    for i, word in enumerate(sys.argv):
        if word == '--threads' and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
        if word.startswith('--threads='):
            return word.split('=', 1)[1]
    return '1'


# "N threads" means N for everything: ATen's OpenMP pool (torch.set_num_threads below) and the BLAS behind Linear
# (Debian's torch calls the system libblas.so.3; with OpenBLAS, its pthread pool would otherwise take every core).
os.environ['OPENBLAS_NUM_THREADS'] = threads_flag()

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

S, A, B = 11, 3, 256  # hopper dims, batch (§5.4.1)
POOL = 8  # distinct batches, cycled
BLOCK = 10  # steps per timed block
DONE_RATE = 0.01
LOG2 = math.log(2.0)
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


# ---- shared pieces (dydiff/learners/common.cpp) ------------------------------------------------------------------

def mlp(widths, act, init, out_act=None):
    """Linear layers with `act` between them and `out_act` after the last; init 'torch' (nn.Linear's default) or
    'normal_fan_in' (weights N(0, 1/fan_in), biases 0)."""
    layers = []
    for i in range(len(widths) - 1):
        lin = torch.nn.Linear(widths[i], widths[i + 1])
        if init == 'normal_fan_in':
            torch.nn.init.normal_(lin.weight, 0.0, 1.0 / math.sqrt(widths[i]))
            torch.nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i + 2 < len(widths):
            layers.append(act())
    if out_act is not None:
        layers.append(out_act())
    return torch.nn.Sequential(*layers)


def widths(inp, hidden, layers, out):
    return [inp] + [hidden] * layers + [out]


class TwinQ(torch.nn.Module):
    def __init__(self, init, hidden=256, layers=2):
        super().__init__()
        self.q1 = mlp(widths(S + A, hidden, layers, 1), torch.nn.ReLU, init)
        self.q2 = mlp(widths(S + A, hidden, layers, 1), torch.nn.ReLU, init)

    def forward(self, obs, act):
        x = torch.cat([obs, act], 1)  # one concat for both
        return self.q1(x), self.q2(x)

    def q1_only(self, obs, act):
        return self.q1(torch.cat([obs, act], 1))

    def min(self, obs, act):
        q1, q2 = self(obs, act)
        return torch.minimum(q1, q2)


def gaussian_log_prob(x, mean, log_std):  # (B, 1)
    z = (x - mean) * torch.exp(-log_std)
    return (-0.5 * z.square() - log_std - HALF_LOG_2PI).sum(1, keepdim=True)


class TanhGaussianActor(torch.nn.Module):
    def __init__(self, init):
        super().__init__()
        self.net = mlp(widths(S, 256, 2, 2 * A), torch.nn.ReLU, init)

    def sample(self, obs):
        out = self.net(obs)
        mean, log_std = out[:, :A], out[:, A:].clamp(-20.0, 2.0)
        u = mean + torch.exp(log_std) * torch.randn_like(mean)
        log_det = 2.0 * (LOG2 - u - F.softplus(-2.0 * u))
        return torch.tanh(u), gaussian_log_prob(u, mean, log_std) - log_det.sum(1, keepdim=True)


def copy_of(module, factory):
    target = factory()
    target.load_state_dict(module.state_dict())
    return target


class Frozen:
    """FreezeGuard: the module's parameters take no gradient while a loss backpropagates through it."""

    def __init__(self, module):
        self.params = list(module.parameters())

    def __enter__(self):
        for p in self.params:
            p.requires_grad_(False)

    def __exit__(self, *exc):
        for p in self.params:
            p.requires_grad_(True)


@torch.no_grad()
def soft_update(target, source, tau):
    for t, s in zip(target.parameters(), source.parameters()):
        t.lerp_(s, tau)


def checked(loss, name):
    v = loss.item()
    if not math.isfinite(v):
        raise RuntimeError(f'{name} is {v}')
    return v


def minimize(loss, opt, name):
    v = checked(loss, name)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return v


def make_batch(raw, spec, reward_scale=1.0, reward_bias=0.0):
    obs, act, rew, next_obs, done = raw
    mean, std, low, high = spec
    return ((obs - mean) / std, (2.0 * (act - low) / (high - low) - 1.0).clamp(-1.0, 1.0),
            (reward_scale * rew + reward_bias).unsqueeze(1), (next_obs - mean) / std, (1.0 - done).unsqueeze(1))


def td_target(r, not_done, next_value, discount=0.99):
    return r + discount * not_done * next_value


# ---- the learners -------------------------------------------------------------------------------------------------

class Bc:  # bc.cpp
    def __init__(self):
        self.actor = mlp(widths(S, 256, 2, A), torch.nn.ReLU, 'torch', torch.nn.Tanh)
        self.opt = torch.optim.Adam(self.actor.parameters(), lr=3e-4)

    def update(self, b):
        obs, act, _, _, _ = b
        return {'bc_loss': minimize(F.mse_loss(self.actor(obs), act), self.opt, 'bc_loss')}


class Td3Bc:  # td3bc.cpp, variant "canonical" (the default)
    def __init__(self):
        self.actor = mlp(widths(S, 256, 2, A), torch.nn.ReLU, 'torch', torch.nn.Tanh)
        self.actor_target = copy_of(self.actor, lambda: mlp(widths(S, 256, 2, A), torch.nn.ReLU, 'torch',
                                                            torch.nn.Tanh))
        self.critic = TwinQ('torch')
        self.critic_target = copy_of(self.critic, lambda: TwinQ('torch'))
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=3e-4)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=3e-4)
        self.steps, self.actor_loss, self.lam = 0, 0.0, 0.0

    def update(self, b):
        obs, act, rew, next_obs, not_done = b
        self.steps += 1
        with torch.no_grad():
            noise = (0.2 * torch.randn(next_obs.shape[0], A)).clamp(-0.5, 0.5)
            next_act = (self.actor_target(next_obs) + noise).clamp(-1.0, 1.0)
            y = td_target(rew, not_done, self.critic_target.min(next_obs, next_act))
        q1, q2 = self.critic(obs, act)
        critic_loss = minimize(F.mse_loss(q1, y) + F.mse_loss(q2, y), self.critic_opt, 'critic_loss')
        if self.steps % 2 == 0:
            with Frozen(self.critic):
                a_pi = self.actor(obs)
                q = self.critic.q1_only(obs, a_pi)
                self.lam = 2.5 / q.abs().mean().item()
                loss = -self.lam * q.mean() + F.mse_loss(a_pi, act)
                self.actor_loss = minimize(loss, self.actor_opt, 'actor_loss')
            soft_update(self.actor_target, self.actor, 0.005)
            soft_update(self.critic_target, self.critic, 0.005)
        return {'critic_loss': critic_loss, 'actor_loss': self.actor_loss, 'lambda': self.lam,
                'q_mean': q1.detach().mean().item()}


class Iql:  # iql.cpp, the gaussian actor (the default)
    def __init__(self, max_steps=1000000):
        self.mean_net = mlp(widths(S, 256, 2, A), torch.nn.ReLU, 'torch', torch.nn.Tanh)
        self.log_std = torch.nn.Parameter(torch.zeros(A))
        self.critic = TwinQ('torch')
        self.critic_target = copy_of(self.critic, lambda: TwinQ('torch'))
        self.value = mlp(widths(S, 256, 2, 1), torch.nn.ReLU, 'torch')
        self.actor_opt = torch.optim.Adam(list(self.mean_net.parameters()) + [self.log_std], lr=3e-4)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=3e-4)
        self.value_opt = torch.optim.Adam(self.value.parameters(), lr=3e-4)
        self.steps, self.max_steps = 0, max_steps

    def update(self, b):
        obs, act, rew, next_obs, not_done = b
        self.steps += 1
        with torch.no_grad():
            next_v = self.value(next_obs)
            target_q = self.critic_target.min(obs, act)
        u = target_q - self.value(obs)
        adv = u.detach()
        weight = torch.where(adv < 0.0, 1.0 - 0.7, 0.7)
        value_loss = minimize((weight * u.square()).mean(), self.value_opt, 'value_loss')
        y = td_target(rew, not_done, next_v)
        q1, q2 = self.critic(obs, act)
        q_loss = minimize(0.5 * (F.mse_loss(q1, y) + F.mse_loss(q2, y)), self.critic_opt, 'q_loss')
        soft_update(self.critic_target, self.critic, 0.005)
        w = torch.exp(3.0 * adv).clamp(max=100.0)
        per_row = -gaussian_log_prob(act, self.mean_net(obs), self.log_std.clamp(-20.0, 2.0))
        t = min(self.steps - 1, self.max_steps)
        lr = 3e-4 * 0.5 * (1.0 + math.cos(math.pi * t / self.max_steps))
        for g in self.actor_opt.param_groups:
            g['lr'] = lr
        actor_loss = minimize((w * per_row).mean(), self.actor_opt, 'actor_loss')
        return {'value_loss': value_loss, 'q_loss': q_loss, 'actor_loss': actor_loss,
                'adv_mean': adv.mean().item(), 'actor_lr': lr}


class Cql:  # cql.cpp
    R = 10  # num_random

    def __init__(self):
        self.actor = TanhGaussianActor('normal_fan_in')
        self.critic = TwinQ('normal_fan_in')
        self.critic_target = copy_of(self.critic, lambda: TwinQ('normal_fan_in'))
        self.log_alpha = torch.nn.Parameter(torch.zeros(1))
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=3e-5)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=3e-4)
        self.alpha_opt = torch.optim.Adam([self.log_alpha], lr=3e-5)

    def regularizer(self, q_rand, q_next, q_cur, log_pi_next, log_pi_cur, q_data, weight=10.0, temperature=1.0):
        log_uniform_density = A * math.log(0.5)
        cat = torch.cat([q_rand - log_uniform_density, q_next - log_pi_next, q_cur - log_pi_cur], 1)
        lse = torch.logsumexp(cat / temperature, 1)
        return lse.mean() * (weight * temperature) - q_data.mean() * weight

    def update(self, b):
        obs, act, rew, next_obs, not_done = b
        n, R = obs.shape[0], self.R
        # 1. the temperature
        pi_action, pi_log_prob = self.actor.sample(obs)
        log_pi_mean = pi_log_prob.detach().mean().item()
        bracket = pi_log_prob.detach() + (-1.0 * A)
        alpha_loss = minimize(-(self.log_alpha * bracket).mean(), self.alpha_opt, 'alpha_loss')
        alpha = math.exp(min(max(self.log_alpha.item(), -10.0), 0.5))
        with torch.no_grad():
            next_action, _ = self.actor.sample(next_obs)
            y = td_target(rew, not_done, self.critic_target.min(next_obs, next_action))
            a_rand = torch.empty(n * R, A).uniform_(-1.0, 1.0)
            a_next, log_pi_next = self.actor.sample(torch.repeat_interleave(next_obs, R, 0))
            a_cur, log_pi_cur = self.actor.sample(torch.repeat_interleave(obs, R, 0))
            log_pi_next, log_pi_cur = log_pi_next.reshape(n, R), log_pi_cur.reshape(n, R)
        # 2. the actor, critics frozen
        with Frozen(self.critic):
            q_new = self.critic.min(obs, pi_action)
            actor_loss = minimize((alpha * pi_log_prob - q_new).mean(), self.actor_opt, 'actor_loss')
        # 3. the critics: TD + the regulariser, all proposals in one forward pass
        q1, q2 = self.critic(obs, act)
        q_mean = q1.detach().mean().item()
        td = F.mse_loss(q1, y) + F.mse_loss(q2, y)
        obs_rep = torch.repeat_interleave(obs, R, 0)
        p1, p2 = self.critic(torch.cat([obs_rep, obs_rep, obs_rep], 0), torch.cat([a_rand, a_next, a_cur], 0))

        def sets(p):
            return [p[k * n * R:(k + 1) * n * R].reshape(n, R) for k in range(3)]

        cql = (self.regularizer(*sets(p1), log_pi_next, log_pi_cur, q1) +
               self.regularizer(*sets(p2), log_pi_next, log_pi_cur, q2))
        td_loss, cql_loss = checked(td, 'td_loss'), checked(cql, 'cql_loss')
        critic_loss = minimize(td + cql, self.critic_opt, 'critic_loss')
        soft_update(self.critic_target, self.critic, 0.005)
        return {'critic_loss': critic_loss, 'td_loss': td_loss, 'cql_loss': cql_loss, 'actor_loss': actor_loss,
                'alpha_loss': alpha_loss, 'alpha': alpha, 'log_pi': log_pi_mean, 'q_mean': q_mean}


class NoiseNet(torch.nn.Module):  # diffql.cpp NoiseNet, PyTorch default init
    def __init__(self, time_dim=16):
        super().__init__()
        half = time_dim // 2
        self.register_buffer('freqs', torch.exp(-torch.arange(half, dtype=torch.float64) * math.log(10000.0) /
                                                (half - 1)).float())
        self.time_mlp = mlp([time_dim, 2 * time_dim, time_dim], torch.nn.Mish, 'torch')
        self.mid = mlp(widths(A + time_dim + S, 256, 3, A), torch.nn.Mish, 'torch')

    def forward(self, x_t, t, obs):
        arg = t.float().unsqueeze(1) * self.freqs.unsqueeze(0)
        t_emb = self.time_mlp(torch.cat([arg.sin(), arg.cos()], 1))
        return self.mid(torch.cat([x_t, t_emb, obs], 1))


class DiffQl:  # diffql.cpp
    T, ETA, GRAD_NORM, EMA_DECAY, EMA_EVERY, EMA_START = 5, 1.0, 5.0, 0.995, 5, 1000

    def __init__(self):
        T = self.T
        beta = [1.0 - math.exp(-0.1 / T - 0.5 * (10.0 - 0.1) * (2.0 * (i + 1) - 1.0) / (T * T)) for i in range(T)]
        alpha_bar, prev, ab = [], [], 1.0
        for b in beta:
            prev.append(ab)
            ab *= 1.0 - b
            alpha_bar.append(ab)
        self.alpha_bar = torch.tensor(alpha_bar)
        self.recip = torch.tensor([math.sqrt(1.0 / x) for x in alpha_bar])
        self.recipm1 = torch.tensor([math.sqrt(1.0 / x - 1.0) for x in alpha_bar])
        self.c_x0 = [b * math.sqrt(p) / (1.0 - x) for b, p, x in zip(beta, prev, alpha_bar)]
        self.c_xt = [(1.0 - p) * math.sqrt(1.0 - b) / (1.0 - x) for b, p, x in zip(beta, prev, alpha_bar)]
        self.sigma = [math.exp(0.5 * math.log(max(b * (1.0 - p) / (1.0 - x), 1e-20)))
                      for b, p, x in zip(beta, prev, alpha_bar)]
        self.actor = NoiseNet()
        self.ema_actor = copy_of(self.actor, NoiseNet)
        self.critic = TwinQ('normal_fan_in')
        self.critic_target = copy_of(self.critic, lambda: TwinQ('normal_fan_in'))
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=3e-4)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=3e-4)
        self.step = 0

    @torch.no_grad()
    def sample(self, net, obs):
        n = obs.shape[0]
        x = torch.randn(n, A)
        for k in reversed(range(self.T)):
            eps = net(x, torch.full((n,), k, dtype=torch.long), obs)
            x0 = (self.recip[k] * x - self.recipm1[k] * eps).clamp(-1.0, 1.0)
            x = self.c_x0[k] * x0 + self.c_xt[k] * x
            if k > 0:
                x = x + self.sigma[k] * torch.randn_like(x)
        return x.clamp(-1.0, 1.0)

    def clipped_step(self, loss, opt, params):
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, self.GRAD_NORM)
        opt.step()
        return norm.item()

    def update(self, b):
        obs, act, rew, next_obs, not_done = b
        n = obs.shape[0]
        with torch.no_grad():
            next_act = self.sample(self.ema_actor, next_obs)
            y = td_target(rew, not_done, self.critic_target.min(next_obs, next_act))
        q1, q2 = self.critic(obs, act)
        q_mean = q1.detach().mean().item()
        critic_loss = F.mse_loss(q1, y) + F.mse_loss(q2, y)
        loss_critic = checked(critic_loss, 'critic_loss')
        critic_norm = self.clipped_step(critic_loss, self.critic_opt, list(self.critic.parameters()))
        t = torch.randint(0, self.T, (n,))
        eps = torch.randn(n, A)
        ab = self.alpha_bar[t].unsqueeze(1)
        x_t = ab.sqrt() * act + (1.0 - ab).sqrt() * eps
        eps_hat = self.actor(x_t, t, obs)
        bc_loss = F.mse_loss(eps_hat, eps)
        x0_hat = (self.recip[t].unsqueeze(1) * x_t - self.recipm1[t].unsqueeze(1) * eps_hat).clamp(-1.0, 1.0)
        with Frozen(self.critic):
            q1_new, q2_new = self.critic(obs, x0_hat)
            lead, other = (q1_new, q2_new) if torch.rand(()).item() >= 0.5 else (q2_new, q1_new)
            q_loss = -lead.mean() / other.abs().mean().detach()
            actor_loss = bc_loss + self.ETA * q_loss
            loss_actor, loss_bc, loss_q = checked(actor_loss, 'actor_loss'), bc_loss.item(), q_loss.item()
            actor_norm = self.clipped_step(actor_loss, self.actor_opt, list(self.actor.parameters()))
        if self.step >= self.EMA_START and self.step % self.EMA_EVERY == 0:
            soft_update(self.ema_actor, self.actor, 1.0 - self.EMA_DECAY)
        soft_update(self.critic_target, self.critic, 0.005)
        self.step += 1
        return {'critic_loss': loss_critic, 'bc_loss': loss_bc, 'q_loss': loss_q, 'actor_loss': loss_actor,
                'q_mean': q_mean, 'critic_grad_norm': critic_norm, 'actor_grad_norm': actor_norm}


LEARNERS = {'bc': Bc, 'td3bc': Td3Bc, 'iql': Iql, 'cql': Cql, 'diffql': DiffQl}


def random_batch():
    """Observations N(0, 1), actions U(-1, 1), rewards N(0, 1), done with probability DONE_RATE (bench.cpp)."""
    return (torch.randn(B, S), torch.empty(B, A).uniform_(-1.0, 1.0), torch.randn(B), torch.randn(B, S),
            (torch.rand(B) < DONE_RATE).float())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--algo', default='bc,td3bc,iql,cql,diffql')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--steps', type=int, default=300)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    spec = (torch.zeros(S), torch.ones(S), -torch.ones(A), torch.ones(A))  # z-score identity, box [-1, 1]^A
    pool = [random_batch() for _ in range(POOL)]
    blocks = (args.steps + BLOCK - 1) // BLOCK
    for algo in args.algo.split(','):
        learner = LEARNERS[algo]()
        state = {'next': 0}

        def block():
            for _ in range(BLOCK):
                learner.update(make_batch(pool[state['next']], spec))
                state['next'] = (state['next'] + 1) % POOL

        block()  # warm-up
        times = []
        for _ in range(blocks):
            t0 = time.perf_counter()
            block()
            times.append((time.perf_counter() - t0) / BLOCK)
        times.sort()
        median = times[len(times) // 2]
        print(json.dumps({'workload': 'learner', 'algo': algo, 'peer': f'pytorch {torch.__version__}',
                          'threads': torch.get_num_threads(), 'steps_per_second': round(1.0 / median, 1),
                          'best_steps_per_second': round(1.0 / times[0], 1), 'seconds_per_iter': median,
                          'iterations': blocks * BLOCK, 'pool': 'fixed'}), flush=True)


if __name__ == '__main__':
    main()
