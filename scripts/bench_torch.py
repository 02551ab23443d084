#!/usr/bin/python3
"""PyTorch reference timings for the policy benchmarks of internal/policy (bench_test.go).

The same network (Phase 3 default: adapter Linear(261 -> 228) with the identity init, then
separate pi and vf MLPs [512, 256, 128] with ReLU, action head 6, value head 1, SB3's
orthogonal init) and the same maskable-PPO minibatch update (per-minibatch advantage
normalisation, masked log-softmax with logits replaced by -1e8, clipped surrogate, value
loss mean((R - V)^2), masked entropy, approx_kl before the step, clip_grad_norm_ 0.5,
Adam with eps 1e-5), float32.

  act:    rollout forward without gradients at batch 1, 8, 16, sampling from the masked
          distribution and bringing actions, values and log-probs back to the host.
  update: one full minibatch update at 64, 256, 2048 rows.

Prints one JSON object: median milliseconds per call for each size. Run with Debian's
python3-torch under /usr/bin/python3 (see scripts/bench.sh):

  /usr/bin/python3 scripts/bench_torch.py --device cpu --threads 2
"""

import argparse
import ctypes
import json
import math
import statistics
import time

import torch
from torch import nn

OBS, BASE, ACTIONS = 261, 228, 6
PI = VF = [512, 256, 128]


class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.adapter = nn.Linear(OBS, BASE)
        with torch.no_grad():
            self.adapter.weight.zero_()
            self.adapter.weight[:, :BASE].copy_(torch.eye(BASE))
            self.adapter.bias.zero_()

        def mlp(sizes):
            layers, inp = [], BASE
            for h in sizes:
                layers += [nn.Linear(inp, h), nn.ReLU()]
                inp = h
            return nn.Sequential(*layers)

        self.policy_net, self.value_net_mlp = mlp(PI), mlp(VF)
        self.action_net = nn.Linear(PI[-1], ACTIONS)
        self.value_net = nn.Linear(VF[-1], 1)
        for module, gain in ((self.policy_net, math.sqrt(2)), (self.value_net_mlp, math.sqrt(2)),
                             (self.action_net, 0.01), (self.value_net, 1.0)):
            for m in module.modules():
                if isinstance(m, nn.Linear):
                    nn.init.orthogonal_(m.weight, gain=gain)
                    m.bias.data.fill_(0.0)

    def forward(self, obs):
        feat = self.adapter(obs)
        return self.action_net(self.policy_net(feat)), self.value_net(self.value_net_mlp(feat)).squeeze(-1)


def masked_logp(logits, mask):
    # sb3-contrib's MaskableCategorical: masked logits replaced by -1e8, then log-softmax.
    return torch.log_softmax(torch.where(mask, logits, torch.full_like(logits, -1e8)), dim=-1)


def random_masks(rows, gen, device):
    mask = torch.rand(rows, ACTIONS, generator=gen) < 2 / 3
    mask[torch.arange(rows), torch.randint(0, ACTIONS, (rows,), generator=gen)] = True
    return mask.to(device)


def blas_core():
    """The OpenBLAS kernel (core type) the process runs with, or 'unknown' when PyTorch's
    BLAS is not OpenBLAS (Debian's PyTorch calls the libblas.so.3 alternative)."""
    for lib in ("libblas.so.3", "libopenblas.so.0"):
        try:
            f = ctypes.CDLL(lib).openblas_get_corename
        except (OSError, AttributeError):
            continue
        f.restype = ctypes.c_char_p
        return f().decode()
    return "unknown"


def median_ms(fn, repeats, warmup, sync):
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (CPU)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every repeat count")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    dev = torch.device(args.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    gen = torch.Generator().manual_seed(args.seed)
    policy = Policy().to(dev)
    opt = torch.optim.Adam(policy.parameters(), lr=3e-4, eps=1e-5)
    reps = lambda n: max(3, int(n * args.scale))
    out = {"device": args.device, "torch": torch.__version__, "threads": args.threads,
           "blas_core": blas_core(), "act_ms": {}, "update_ms": {}}

    for rows, n in ((1, 2000), (8, 1000), (16, 1000)):
        obs = torch.randn(rows, OBS, generator=gen).numpy()
        mask = random_masks(rows, gen, "cpu").numpy()

        def act():
            with torch.no_grad():
                o = torch.as_tensor(obs, device=dev)  # host observations and masks cross here
                m = torch.as_tensor(mask, device=dev)
                logits, values = policy(o)
                dist = torch.distributions.Categorical(logits=masked_logp(logits, m))
                a = dist.sample()
                logp = dist.log_prob(a)
                return a.cpu().numpy(), values.cpu().numpy(), logp.cpu().numpy()

        out["act_ms"][str(rows)] = median_ms(act, reps(n), 20, sync)

    for rows, n in ((64, 110), (256, 33), (2048, 11)):
        obs = torch.randn(rows, OBS, generator=gen)
        mask = random_masks(rows, gen, "cpu")
        with torch.no_grad():
            logits, values = policy(obs.to(dev))
            dist = torch.distributions.Categorical(logits=masked_logp(logits, mask.to(dev)))
            actions = dist.sample().cpu()
            old_logp = (dist.log_prob(actions.to(dev)).cpu() + 0.3 * torch.randn(rows, generator=gen))
            returns = values.cpu() + torch.randn(rows, generator=gen)
        adv = torch.randn(rows, generator=gen) + 0.3

        def update():
            # The host minibatch crosses to the device at the loss's entry.
            o, m, a = obs.to(dev), mask.to(dev), actions.to(dev)
            olp, r, ad = old_logp.to(dev), returns.to(dev), adv.to(dev)
            ad = (ad - ad.mean()) / (ad.std() + 1e-8)
            logits, v = policy(o)
            logp_all = masked_logp(logits, m)
            logp = logp_all.gather(1, a.unsqueeze(1)).squeeze(1)
            ratio = torch.exp(logp - olp)
            pg = -torch.min(ad * ratio, ad * torch.clamp(ratio, 0.8, 1.2)).mean()
            vf = torch.nn.functional.mse_loss(r, v)
            p_logp = torch.where(m, logp_all.exp() * logp_all, torch.zeros_like(logp_all))
            ent = p_logp.sum(-1).mean()  # = -mean(entropy)
            loss = pg + 0.01 * ent + 0.5 * vf
            with torch.no_grad():
                log_ratio = logp - olp
                approx_kl = torch.mean((torch.exp(log_ratio) - 1) - log_ratio).cpu().item()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(policy.parameters(), 0.5)
            opt.step()
            return loss.item(), approx_kl

        out["update_ms"][str(rows)] = median_ms(update, reps(n), 3, sync)

    print(json.dumps(out))


if __name__ == "__main__":
    main()
