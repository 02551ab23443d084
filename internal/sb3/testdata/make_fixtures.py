#!/usr/bin/env python3
"""Writes the fixtures of internal/sb3's tests: what MaskablePPO.save and VecNormalize.save
write, made with PyTorch and numpy alone (stable-baselines3 is not installed where this ran).

    /usr/bin/python3 internal/sb3/testdata/make_fixtures.py   # from the repository root

Run on Debian's python3-torch 1.13 and numpy 1.24 (Python 3.11). Everything is seeded: a
second run writes the same bytes (the script checks it against a second in-memory run).

What stands in for SB3:
  * the policy is an nn.Module with the attribute names of SB3's ActorCriticPolicy
    (features_extractor with a Flatten, mlp_extractor.policy_net / value_net as
    nn.Sequential of Linear and activation, action_net, value_net), so its state_dict has
    SB3's keys; torch.save writes it in the zip format exactly as SB3's save does;
  * the model zip has SB3's entries in SB3's order (data, pytorch_variables.pth,
    policy.pth, policy.optimizer.pth, _stable_baselines3_version, system_info.txt), the
    .pth entries written through ZipFile.open(force_zip64=True) as save_to_zip_file does;
    "data" is the JSON of SB3's data_to_json, with placeholder ":serialized:" blobs (a
    reader never decodes them);
  * VecNormalize, RunningMeanStd, gymnasium's Box and Discrete are classes defined here
    under the module paths of the real ones, so pickle refers to them by the same names;
    their attributes are those SB3 2.x / gymnasium 0.29 pickle (VecNormalize's
    __getstate__ drops venv, class_attributes and returns). RunningMeanStd.update is
    SB3's code.
  * numpy 2 pickles name numpy._core.* where numpy 1 names numpy.core.*: a Pickler whose
    reducer_override swaps the reconstructor functions for stand-ins registered under the
    numpy 2 names writes them (real GLOBAL / STACK_GLOBAL opcodes, not edited bytes); each
    is loaded back with pickle.loads and compared.

Outputs (testdata/):
  relu.zip         pi [5, 4], vf [3], ReLU (policy_kwargs with activation_fn), schedule LR,
                   policy.optimizer.pth after one Adam step
  tanh.zip         pi [3], vf [3, 2], no activation_fn (SB3's default, Tanh), constant LR,
                   policy.optimizer.pth before any step
  vecnormalize_p{2,4,5}.pkl, vecnormalize_np2_p{2,4,5}.pkl   the same statistics
  obs.csv, masks.csv   raw observations and masks (one per line) for predict --obs
  expected.json    the statistics, the normalised observations of obs.csv, and PyTorch's
                   logits, values, probabilities and argmax actions for each model
  refusals: actions4.zip (Discrete(4)), obs225.zip (Box(225), as Phase 1),
            extra_part.zip (a features extractor with weights), forbidden_policy.zip
            (policy.pth holding an os.system reduce), vecnormalize_nan.pkl (NaN in var),
            vecnormalize_forbidden.pkl (an os.system reduce inside the VecNormalize),
            vecnormalize_dict.pkl (obs_rms a dict: a Dict observation space)
"""

import base64
import copy
import io
import json
import os
import pickle
import pickletools
import sys
import types
import zipfile

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
OBS_DIM, N_ACT, N_ENVS = 228, 6, 4
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
SB3_VERSION = "2.3.2"


# ---- stand-in classes under the real module paths ----

def register(module, cls):
    """Puts cls at module.<name> in sys.modules (creating the modules) so pickle names it so."""
    parts = module.split(".")
    for i in range(1, len(parts) + 1):
        name = ".".join(parts[:i])
        if name not in sys.modules:
            sys.modules[name] = types.ModuleType(name)
            if i > 1:
                setattr(sys.modules[".".join(parts[: i - 1])], parts[i - 1], sys.modules[name])
    cls.__module__ = module
    setattr(sys.modules[module], cls.__qualname__, cls)
    return cls


class RunningMeanStd:
    # stable_baselines3/common/running_mean_std.py
    def __init__(self, epsilon=1e-4, shape=()):
        self.mean = np.zeros(shape, np.float64)
        self.var = np.ones(shape, np.float64)
        self.count = epsilon

    def update(self, arr):
        batch_mean = np.mean(arr, axis=0)
        batch_var = np.var(arr, axis=0)
        batch_count = arr.shape[0]
        self.update_from_moments(batch_mean, batch_var, batch_count)

    def update_from_moments(self, batch_mean, batch_var, batch_count):
        delta = batch_mean - self.mean
        tot_count = self.count + batch_count
        new_mean = self.mean + delta * batch_count / tot_count
        m_a = self.var * self.count
        m_b = batch_var * batch_count
        m_2 = m_a + m_b + np.square(delta) * self.count * batch_count / tot_count
        new_var = m_2 / tot_count
        self.mean = new_mean
        self.var = new_var
        self.count = tot_count


class VecNormalize:
    """Holds what SB3 2.x's VecNormalize pickles (its __getstate__: __dict__ less venv,
    class_attributes and returns)."""


class Box:
    pass


class Discrete:
    pass


register("stable_baselines3.common.running_mean_std", RunningMeanStd)
register("stable_baselines3.common.vec_env.vec_normalize", VecNormalize)
register("gymnasium.spaces.box", Box)
register("gymnasium.spaces.discrete", Discrete)


class Evil:
    """A hostile payload: unpickling it in Python would run a shell command."""

    def __reduce__(self):
        return (os.system, ("echo this must never run",))


def box(n):
    b = Box()
    b.dtype = np.dtype(np.float32)
    b._shape = (n,)
    b.low = np.full((n,), -np.inf, np.float32)
    b.high = np.full((n,), np.inf, np.float32)
    b.bounded_below = np.zeros((n,), bool)
    b.bounded_above = np.zeros((n,), bool)
    b.low_repr = "-inf"
    b.high_repr = "inf"
    b._np_random = None
    return b


def discrete(n):
    d = Discrete()
    d.n = np.int64(n)
    d.start = np.int64(0)
    d._shape = ()
    d.dtype = np.dtype(np.int64)
    d._np_random = np.random.default_rng(11)  # as after action_space.sample()
    return d


# ---- observations and their statistics ----

def raw_observations(rng, rows):
    """Raw Phase 2 observations on the scales of docs/observation.md (NQ prices)."""
    x = np.zeros((rows, OBS_DIM), np.float32)
    for k in range(20):
        b = 11 * k
        close = 20000 + rng.normal(0, 40, rows)
        x[:, b + 0] = close
        x[:, b + 1] = np.abs(rng.normal(300, 150, rows))
        x[:, b + 2] = close + rng.normal(0, 5, rows)
        x[:, b + 3] = close + rng.normal(0, 12, rows)
        x[:, b + 4] = np.clip(rng.normal(50, 15, rows), 0, 100)
        x[:, b + 5] = rng.normal(0, 4, rows)
        x[:, b + 6] = 1 + rng.normal(0, 1e-3, rows)
        x[:, b + 7] = np.abs(rng.normal(10, 3, rows))
        x[:, b + 8] = rng.uniform(-0.2, 1.0, rows)
        x[:, b + 9] = rng.uniform(-0.1, 1.0, rows)
        x[:, b + 10] = rng.uniform(0.0, 1.0, rows)
    pos = rng.choice([-1.0, 0.0, 1.0], rows)
    x[:, 220] = pos
    x[:, 221] = np.where(pos == 0, 1.0, 1 + rng.normal(0, 1e-3, rows))
    x[:, 222] = np.where(pos == 0, 0.0, np.abs(rng.normal(1.5, 0.5, rows)))
    x[:, 223] = np.where(pos == 0, 0.0, np.abs(rng.normal(4.5, 1.0, rows)))
    x[:, 224] = np.where(pos == 0, 0.0, rng.uniform(0, 0.2, rows))
    x[:, 225] = (pos == 0) * (rng.uniform(0, 1, rows) < 0.8)
    x[:, 226] = (pos != 0) * (rng.uniform(0, 1, rows) < 0.5)
    x[:, 227] = pos != 0
    return x


def vecnormalize(rng, norm_obs=True):
    v = VecNormalize()
    # VecEnv.__init__ / VecEnvWrapper.__init__
    v.num_envs = N_ENVS
    v.observation_space = box(OBS_DIM)
    v.action_space = discrete(N_ACT)
    v.reset_infos = [{} for _ in range(N_ENVS)]
    v._seeds = [None for _ in range(N_ENVS)]
    v._options = [{} for _ in range(N_ENVS)]
    v.render_mode = None
    # VecNormalize.__init__
    v.norm_obs = norm_obs
    v.norm_obs_keys = None
    v.obs_rms = RunningMeanStd(shape=(OBS_DIM,))
    v.ret_rms = RunningMeanStd(shape=())
    v.clip_obs = 10.0
    v.clip_reward = 10.0
    v.gamma = 0.99
    v.epsilon = 1e-8
    v.training = True
    v.norm_reward = True
    # 300 vectorised steps of 4 envs, as VecNormalize.step_wait updates them
    returns = np.zeros(N_ENVS)
    for _ in range(300):
        obs = raw_observations(rng, N_ENVS)
        v.obs_rms.update(obs)
        rewards = rng.normal(0, 0.5, N_ENVS)
        returns = returns * v.gamma + rewards
        v.ret_rms.update(returns)
        v.old_obs = obs
        v.old_reward = rewards
    return v


# ---- the SB3-shaped policy ----

class FlattenExtractor(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()


class LinearExtractor(nn.Module):
    """A custom features extractor with weights (what this tool refuses)."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)


class MlpExtractor(nn.Module):
    def __init__(self, n_in, pi, vf, act):
        super().__init__()
        layers, last = [], n_in
        for h in pi:
            layers += [nn.Linear(last, h), act()]
            last = h
        self.policy_net = nn.Sequential(*layers)
        layers, last = [], n_in
        for h in vf:
            layers += [nn.Linear(last, h), act()]
            last = h
        self.value_net = nn.Sequential(*layers)


class Policy(nn.Module):
    def __init__(self, obs_dim, n_act, pi, vf, act, extractor=None):
        super().__init__()
        self.features_extractor = extractor or FlattenExtractor()
        self.pi_features_extractor = self.features_extractor
        self.vf_features_extractor = self.features_extractor
        n_in = obs_dim if extractor is None else extractor.linear.out_features
        self.mlp_extractor = MlpExtractor(n_in, pi, vf, act)
        self.action_net = nn.Linear(pi[-1], n_act)
        self.value_net = nn.Linear(vf[-1], 1)

    def forward(self, obs):
        pi = self.mlp_extractor.policy_net(obs)
        vf = self.mlp_extractor.value_net(obs)
        return self.action_net(pi), self.value_net(vf).squeeze(-1)


def make_policy(seed, obs_dim, n_act, pi, vf, act, extractor=None):
    torch.manual_seed(seed)
    p = Policy(obs_dim, n_act, pi, vf, act, extractor)
    with torch.no_grad():
        for name, t in p.named_parameters():
            t.add_(0.1 * torch.randn_like(t))  # biases and weights away from PyTorch's init
        p.action_net.weight.mul_(4)  # logits of order 1
    return p


def adam_state(p, steps):
    """The optimizer state dict after steps Adam steps (SB3: Adam, eps 1e-5); with 0 it is
    what a model saved before training has."""
    opt = torch.optim.Adam(p.parameters(), lr=3e-4, eps=1e-5)
    if steps == 0:
        return opt.state_dict()
    x = torch.ones(2, p.mlp_extractor.policy_net[0].in_features)
    logits, values = p(x)
    (logits.sum() + values.sum()).backward()
    state = copy.deepcopy(p.state_dict())
    for _ in range(steps):
        opt.step()
    p.load_state_dict(state)  # the fixture's weights are those before the step
    return opt.state_dict()


# ---- SB3's data JSON ----

def serialized(type_str, items):
    """A non-JSON value as SB3's data_to_json writes it; the blob is a placeholder."""
    blob = base64.b64encode(pickle.dumps(("placeholder for cloudpickle", type_str), protocol=4)).decode()
    d = {":type:": type_str, ":serialized:": blob}
    d.update(items)
    return d


def data_json(pi, vf, activation, obs_dim, n_act, timesteps, lr_schedule):
    if activation is None:
        policy_kwargs = {"net_arch": {"pi": pi, "vf": vf}}
    else:
        policy_kwargs = serialized("<class 'dict'>", {
            "net_arch": {"pi": pi, "vf": vf},
            "activation_fn": "<class 'torch.nn.modules.activation.%s'>" % activation,
        })
    bounded = str(np.zeros((obs_dim,), bool))
    inf = str(np.full((obs_dim,), np.inf, np.float32))
    d = {
        "policy_class": serialized("<class 'abc.ABCMeta'>", {
            "__module__": "sb3_contrib.common.maskable.policies",
            "__doc__": "\n    Policy class for actor-critic algorithms (has both policy and value prediction).\n",
            "__init__": "<function MaskableActorCriticPolicy.__init__ at 0x7f3a2c1d5e40>",
            "forward": "<function MaskableActorCriticPolicy.forward at 0x7f3a2c1d5ee0>",
            "__abstractmethods__": "frozenset()",
            "_abc_impl": "<_abc._abc_data object at 0x7f3a2c1e1a40>",
        }),
        "verbose": 1,
        "policy_kwargs": policy_kwargs,
        "num_timesteps": timesteps,
        "_total_timesteps": timesteps,
        "_num_timesteps_at_start": 0,
        "seed": 42,
        "action_noise": None,
        "start_time": 1730000000000000000,
        "learning_rate": serialized("<class 'function'>", {}) if lr_schedule else 0.0003,
        "tensorboard_log": "./tensorboard_logs/phase2/",
        "_last_obs": None,
        "_last_episode_starts": serialized("<class 'numpy.ndarray'>", {}),
        "_last_original_obs": None,
        "_episode_num": 0,
        "use_sde": False,
        "sde_sample_freq": -1,
        "_current_progress_remaining": 0.0,
        "_stats_window_size": 100,
        "ep_info_buffer": serialized("<class 'collections.deque'>", {}),
        "ep_success_buffer": serialized("<class 'collections.deque'>", {}),
        "_n_updates": 50,
        "observation_space": serialized("<class 'gymnasium.spaces.box.Box'>", {
            "dtype": "float32", "bounded_below": bounded, "bounded_above": bounded,
            "_shape": [obs_dim], "low": "-" + inf, "high": inf, "low_repr": "-inf", "high_repr": "inf",
            "_np_random": None,
        }),
        "action_space": serialized("<class 'gymnasium.spaces.discrete.Discrete'>", {
            "n": str(n_act), "start": "0", "_shape": [], "dtype": "int64", "_np_random": None,
        }),
        "n_envs": N_ENVS,
        "n_steps": 2048,
        "gamma": 0.99,
        "gae_lambda": 0.95,
        "ent_coef": 0.06,
        "vf_coef": 0.25,
        "max_grad_norm": 0.5,
        "rollout_buffer_class": serialized("<class 'abc.ABCMeta'>", {
            "__module__": "sb3_contrib.common.maskable.buffers"}),
        "rollout_buffer_kwargs": {},
        "batch_size": 512,
        "n_epochs": 5,
        "clip_range": serialized("<class 'function'>", {}),
        "clip_range_vf": None,
        "normalize_advantage": True,
        "target_kl": None,
        "lr_schedule": serialized("<class 'function'>", {}),
    }
    return json.dumps(d, indent=4)


SYSTEM_INFO = ("- OS: Linux-6.1.0-x86_64-with-glibc2.36 # 1 SMP Debian 6.1.0\n- Python: 3.11.2\n"
               "- Stable-Baselines3: %s\n- PyTorch: %s\n- GPU Enabled: False\n- Numpy: %s\n"
               "- Cloudpickle: 3.0.0\n- Gymnasium: 0.29.1\n" % (SB3_VERSION, torch.__version__, np.__version__))


def zinfo(name):
    return zipfile.ZipInfo(name, date_time=ZIP_TIME)


def sb3_zip(data, state_dict, optimizer):
    """The bytes of the zip MaskablePPO.save writes (save_to_zip_file)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, mode="w") as archive:
        archive.writestr(zinfo("data"), data)
        for name, obj in (("pytorch_variables", {}), ("policy", state_dict), ("policy.optimizer", optimizer)):
            with archive.open(zinfo(name + ".pth"), mode="w", force_zip64=True) as f:
                torch.save(obj, f)
        archive.writestr(zinfo("_stable_baselines3_version"), SB3_VERSION)
        archive.writestr(zinfo("system_info.txt"), SYSTEM_INFO)
    return buf.getvalue()


# ---- numpy 2 module paths ----

_NP1 = {
    np.core.multiarray._reconstruct: ("numpy._core.multiarray", "_reconstruct"),
    np.core.multiarray.scalar: ("numpy._core.multiarray", "scalar"),
    np.core.numeric._frombuffer: ("numpy._core.numeric", "_frombuffer"),
}
_NP2 = {}
for fn, (mod, name) in _NP1.items():
    def stand_in(*args, _fn=fn):
        return _fn(*args)
    stand_in.__qualname__ = stand_in.__name__ = name
    register(mod, stand_in)
    _NP2[fn] = stand_in


class Numpy2Pickler(pickle.Pickler):
    """Pickles numpy arrays and scalars as numpy 2 does: the same reduce values, under
    numpy._core.* names."""

    def __init__(self, f, protocol):
        super().__init__(f, protocol=protocol)
        self.protocol = protocol

    def reducer_override(self, obj):
        if isinstance(obj, (np.ndarray, np.generic)):
            rv = obj.__reduce_ex__(self.protocol)
            if isinstance(rv, tuple) and rv[0] in _NP2:
                return (_NP2[rv[0]],) + tuple(rv[1:])
            return rv
        return NotImplemented


def dumps(obj, protocol, numpy2=False):
    buf = io.BytesIO()
    (Numpy2Pickler if numpy2 else pickle.Pickler)(buf, protocol=protocol).dump(obj)
    return buf.getvalue()


def globals_of(data):
    """The (module, name) pairs a pickle refers to (GLOBAL and STACK_GLOBAL). STACK_GLOBAL
    takes the two strings before it, which may come from the memo."""
    out, pushed, memo = set(), [], {}
    for op, arg, _ in pickletools.genops(data):
        if op.name == "GLOBAL":
            out.add(tuple(arg.split(" ", 1)))
        elif op.name == "STACK_GLOBAL":
            out.add((pushed[-2], pushed[-1]))
        elif op.name == "MEMOIZE":
            memo[len(memo)] = pushed[-1] if pushed else None
        elif op.name in ("BINPUT", "LONG_BINPUT", "PUT"):
            memo[arg] = pushed[-1] if pushed else None
        elif op.name in ("BINGET", "LONG_BINGET", "GET"):
            pushed.append(memo.get(arg))
        elif isinstance(arg, str):
            pushed.append(arg)
        else:
            pushed.append(None)
    return out


# ---- the fixtures ----

def forward(p, obs_norm, masks):
    with torch.no_grad():
        logits, values = p(torch.as_tensor(obs_norm, dtype=torch.float32))
        m = torch.as_tensor(masks, dtype=torch.bool)
        masked = torch.where(m, logits, torch.tensor(-1e8))  # sb3-contrib MaskableCategorical
        return {
            "logits": logits.tolist(),
            "values": values.tolist(),
            "probs": torch.softmax(logits, -1).tolist(),
            "actions": torch.argmax(logits, -1).tolist(),
            "probs_masked": torch.softmax(masked, -1).tolist(),
            "actions_masked": torch.argmax(masked, -1).tolist(),
        }


def build():
    files = {}
    rng = np.random.default_rng(20250101)
    vn = vecnormalize(rng)

    # Observations to predict on: four from the training distribution, one far outside it
    # (every feature clipped at +-10), one of zeros.
    obs = raw_observations(rng, 6)
    obs[4] = obs[4] * 3 + 1000
    obs[5] = 0
    masks = np.array([
        [1, 1, 1, 1, 1, 1],
        [1, 0, 0, 0, 0, 0],
        [1, 1, 1, 0, 0, 0],
        [1, 0, 0, 1, 0, 0],
        [1, 0, 0, 0, 1, 0],
        [0, 1, 0, 0, 0, 1],
    ], bool)
    obs_norm = np.clip((obs - vn.obs_rms.mean) / np.sqrt(vn.obs_rms.var + vn.epsilon), -vn.clip_obs, vn.clip_obs)
    files["obs.csv"] = "".join(",".join(repr(float(v)) for v in row) + "\n" for row in obs).encode()
    files["masks.csv"] = "".join(",".join(str(int(v)) for v in row) + "\n" for row in masks).encode()
    expected = {
        "source": "make_fixtures.py: torch %s, numpy %s" % (torch.__version__, np.__version__),
        "obs_norm": obs_norm.tolist(),
        "masks": masks.astype(int).tolist(),
        "obs_rms": {"mean": vn.obs_rms.mean.tolist(), "var": vn.obs_rms.var.tolist(), "count": vn.obs_rms.count},
        "ret_rms": {"mean": float(vn.ret_rms.mean), "var": float(vn.ret_rms.var), "count": vn.ret_rms.count},
    }

    models = {
        "relu": dict(seed=1, pi=[5, 4], vf=[3], act=nn.ReLU, activation="ReLU", timesteps=123456, lr_schedule=True, adam=1),
        "tanh": dict(seed=2, pi=[3], vf=[3, 2], act=nn.Tanh, activation=None, timesteps=2048, lr_schedule=False, adam=0),
    }
    for name, m in models.items():
        p = make_policy(m["seed"], OBS_DIM, N_ACT, m["pi"], m["vf"], m["act"])
        opt = adam_state(p, m["adam"])
        files[name + ".zip"] = sb3_zip(data_json(m["pi"], m["vf"], m["activation"], OBS_DIM, N_ACT, m["timesteps"], m["lr_schedule"]),
                                       p.state_dict(), opt)
        expected[name] = forward(p, obs_norm, masks)
        expected[name].update(pi=m["pi"], vf=m["vf"], timesteps=m["timesteps"])

    # Refusals.
    p = make_policy(3, OBS_DIM, 4, [2], [2], nn.ReLU)
    files["actions4.zip"] = sb3_zip(data_json([2], [2], "ReLU", OBS_DIM, 4, 10, False), p.state_dict(), adam_state(p, 0))
    p = make_policy(4, 225, N_ACT, [2], [2], nn.ReLU)
    files["obs225.zip"] = sb3_zip(data_json([2], [2], "ReLU", 225, N_ACT, 10, False), p.state_dict(), adam_state(p, 0))
    p = make_policy(5, OBS_DIM, N_ACT, [2], [2], nn.ReLU, extractor=LinearExtractor(OBS_DIM, 3))
    files["extra_part.zip"] = sb3_zip(data_json([2], [2], "ReLU", OBS_DIM, N_ACT, 10, False), p.state_dict(), {})
    p = make_policy(6, OBS_DIM, N_ACT, [2], [2], nn.ReLU)
    sd = p.state_dict()
    sd["mlp_extractor.policy_net.0.bias"] = Evil()
    files["forbidden_policy.zip"] = sb3_zip(data_json([2], [2], "ReLU", OBS_DIM, N_ACT, 10, False), sd, {})

    for proto in (2, 4, 5):
        for numpy2 in (False, True):
            data = dumps(vn, proto, numpy2)
            back = pickle.loads(data)  # the rewritten pickle is a valid pickle of the same values
            assert np.array_equal(back.obs_rms.mean, vn.obs_rms.mean) and np.array_equal(back.obs_rms.var, vn.obs_rms.var)
            assert back.obs_rms.count == vn.obs_rms.count and np.array_equal(back.ret_rms.var, vn.ret_rms.var)
            names = {m for m, _ in globals_of(data) if m.startswith("numpy")}
            want = {"numpy._core.multiarray" if numpy2 else "numpy.core.multiarray", "numpy", "numpy.random._pickle"}
            if proto == 5:
                want.add("numpy._core.numeric" if numpy2 else "numpy.core.numeric")
            assert names == want, (proto, numpy2, names)
            files["vecnormalize_%sp%d.pkl" % ("np2_" if numpy2 else "", proto)] = data

    bad = copy.deepcopy(vn)
    bad.obs_rms.var[7] = np.nan
    files["vecnormalize_nan.pkl"] = dumps(bad, 4)
    bad = copy.deepcopy(vn)
    bad.render_mode = Evil()
    files["vecnormalize_forbidden.pkl"] = dumps(bad, 4)
    bad = copy.deepcopy(vn)
    bad.obs_rms = {"prices": bad.obs_rms}
    bad.norm_obs_keys = ["prices"]
    files["vecnormalize_dict.pkl"] = dumps(bad, 4)

    files["expected.json"] = (json.dumps(expected) + "\n").encode()
    return files


def main():
    files = build()
    again = build()
    for name, data in files.items():
        assert again[name] == data, "not deterministic: " + name
    for name, data in sorted(files.items()):
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
        print("%-32s %7d bytes" % (name, len(data)))


if __name__ == "__main__":
    main()
