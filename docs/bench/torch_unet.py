# PyTorch CPU peer of `dydiff bench unet-train` / `unet-sample`: the same temporal U-Net (docs/algorithm.md §5.1,
# written here from the official code's layer list, like dydiff/diffusion/temporal_unet.cpp) on hopper-sized windows
# (D = 14, S = 11, H = 100).
#   train:  EDM loss with in-painting on a batch of 8, backward, Adam        -> seconds per step
#   sample: one denoiser call D(x; sigma = 1) on a batch of 256, no_grad     -> seconds per forward
# Not part of the build; run by hand for docs/performance.md:
#   /usr/bin/python3 docs/bench/torch_unet.py {train|sample} THREADS [paper|small|tiny] [BATCH] [SECONDS]
# SECONDS (default 0.5) is the timed duration after one warm-up call, at least 3 calls (as dydiff bench --seconds).
import json
import math
import resource
import sys
import time

import torch
from torch import nn

# Same presets as dydiff::unet_preset: (dim, dim_mults, time_dim); kernel 5 and 8 groups throughout.
PRESETS = {'paper': (128, (1, 4, 8), 128), 'small': (32, (1, 2, 4), 32), 'tiny': (16, (1, 2, 4), 16)}
D, S, H = 14, 11, 100
SIGMA_DATA, P_MEAN, P_STD = 0.5, -1.2, 1.2


class Block(nn.Module):  # Conv1d -> GroupNorm -> Mish
    def __init__(self, i, o, k=5, groups=8):
        super().__init__()
        self.conv, self.norm = nn.Conv1d(i, o, k, padding=k // 2), nn.GroupNorm(groups, o)

    def forward(self, x):
        return nn.functional.mish(self.norm(self.conv(x)))


class Res(nn.Module):
    def __init__(self, i, o, t):
        super().__init__()
        self.block0, self.block1 = Block(i, o), Block(o, o)
        self.time_proj = nn.Linear(t, o)
        self.residual = nn.Conv1d(i, o, 1) if i != o else nn.Identity()

    def forward(self, x, t):
        h = self.block0(x) + self.time_proj(nn.functional.mish(t))[:, :, None]
        return self.block1(h) + self.residual(x)


class UNet(nn.Module):
    def __init__(self, channels, dim, mults, time_dim):
        super().__init__()
        self.time_dim = time_dim
        self.fc0, self.fc1 = nn.Linear(time_dim, 4 * time_dim), nn.Linear(4 * time_dim, time_dim)
        w = [channels] + [dim * m for m in mults]
        levels = len(mults)
        self.downs = nn.ModuleList()
        for l in range(levels):
            down = nn.Conv1d(w[l + 1], w[l + 1], 3, 2, 1) if l + 1 < levels else nn.Identity()
            self.downs.append(nn.ModuleList([Res(w[l], w[l + 1], time_dim), Res(w[l + 1], w[l + 1], time_dim), down]))
        self.mid = nn.ModuleList([Res(w[-1], w[-1], time_dim), Res(w[-1], w[-1], time_dim)])
        self.ups = nn.ModuleList()
        for l in range(levels - 1, 0, -1):
            self.ups.append(nn.ModuleList([Res(2 * w[l + 1], w[l], time_dim), Res(w[l], w[l], time_dim),
                                           nn.ConvTranspose1d(w[l], w[l], 4, 2, 1)]))
        self.final_block, self.final_conv = Block(dim, dim), nn.Conv1d(dim, channels, 1)

    def embed(self, c):
        half = self.time_dim // 2
        f = torch.exp(-torch.arange(half, dtype=torch.float32) * (math.log(1e4) / (half - 1)))
        a = c[:, None] * f[None, :]
        return torch.cat([a.sin(), a.cos()], dim=1)

    def forward(self, x, c_noise):
        t = self.fc1(nn.functional.mish(self.fc0(self.embed(c_noise))))
        h, skips = x.transpose(1, 2), []
        for r0, r1, down in self.downs:
            h = r1(r0(h, t), t)
            skips.append(h)
            h = down(h)
        h = self.mid[1](self.mid[0](h, t), t)
        for r0, r1, up in self.ups:  # skips[0] stays unused, as in the official code
            h = up(r1(r0(torch.cat([h, skips.pop()], dim=1), t), t))
        return self.final_conv(self.final_block(h)).transpose(1, 2)


def denoise(net, x, sigma):
    s = sigma[:, None, None]
    c_skip = SIGMA_DATA ** 2 / (s ** 2 + SIGMA_DATA ** 2)
    c_out = s * SIGMA_DATA / (s ** 2 + SIGMA_DATA ** 2).sqrt()
    c_in = 1 / (s ** 2 + SIGMA_DATA ** 2).sqrt()
    return c_skip * x + c_out * net(c_in * x, sigma.log() / 4)


def edm_loss(net, y):
    sigma = (torch.randn(y.shape[0]) * P_STD + P_MEAN).exp()
    x_in = y + torch.randn_like(y) * sigma[:, None, None]
    x_in[:, 0, :S] = y[:, 0, :S]
    x_in[:, :, S:] = y[:, :, S:]
    weight = (sigma ** 2 + SIGMA_DATA ** 2) / (sigma * SIGMA_DATA) ** 2
    return (weight * ((denoise(net, x_in, sigma) - y) ** 2).sum(dim=(1, 2))).mean()


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else 'train'
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    preset = sys.argv[3] if len(sys.argv) > 3 else 'paper'
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else (8 if mode == 'train' else 256)
    seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 0.5
    assert mode in ('train', 'sample'), mode
    torch.set_num_threads(threads)
    torch.manual_seed(0)

    net = UNet(D, *PRESETS[preset])
    params = sum(p.numel() for p in net.parameters())
    if mode == 'train':
        opt = torch.optim.Adam(net.parameters(), lr=1e-4)
        y = torch.rand(batch, H, D) * 2 - 1

        def run():
            loss = edm_loss(net, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    else:
        x = torch.randn(batch, H, D)
        sigma = torch.ones(batch)

        def run():
            with torch.no_grad():
                denoise(net, x, sigma)

    run()  # warm-up, as dydiff bench
    times = []
    start = time.perf_counter()
    while len(times) < 3 or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    times.sort()
    print(json.dumps({'workload': 'unet-' + mode, 'peer': 'pytorch ' + torch.__version__, 'preset': preset,
                      'shape': [batch, H, D], 'params': params, 'threads': threads,
                      'seconds_per_iter': times[len(times) // 2], 'best_seconds_per_iter': times[0],
                      'iterations': len(times), 'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == '__main__':  # docs/bench/torch_generate.py imports the model from here
    main()
