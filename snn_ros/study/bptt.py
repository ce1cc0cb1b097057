"""Backprop-through-time baseline of the same N-MNIST network, with surrogate gradients.

The architecture is copied from a freshly built :class:`~snn_ros.core.Network` of the same
config and seed: the same groups and sizes, the same sparse masks (local receptive fields,
feedforward, microcircuit recurrent blocks, small-world readout) and the same initial weights.
The LIF dynamics follow the core's step order with each group's own decay and reset (the
readout may differ from the hidden layers): leak ``v <- alpha v``, spike ``s = H(v - theta)``,
deliver this step's spikes, then ``v <- (1 - s) (v + I)`` (reset to zero, input of a spiking
step discarded) or ``v <- v + I - s theta`` (reset by subtraction). Differences, stated:
thresholds are fixed at the initial value (the core's homeostatic threshold adaptation is not
differentiable and is left out), the Heaviside has a fast-sigmoid surrogate derivative, the
reset is detached, and the loss is the cross-entropy of the per-class mean readout spike
counts over the sample. Weights are clipped to ``[-w_max, w_max]`` after every step as in the
core.

torch is an optional bench dependency, imported lazily; :func:`available` says whether it is
importable, and the study records the setting as skipped when it is not.
"""

from __future__ import annotations

import importlib.util
import time
from typing import Any

import numpy as np

from snn_ros.core import Network
from snn_ros.core.config import ResetMode
from snn_ros.study import nmnist, peak_rss_mb


def available() -> bool:
    """Return whether torch can be imported."""
    return importlib.util.find_spec('torch') is not None


def architecture(n_hidden: int, pop_size: int, seed: int) -> dict[str, Any]:
    """Return groups, masks and initial weights of the core network (config ``full``, seed).

    Returns:
        ``sizes`` (per group, readout last), ``projections`` (list of dicts with ``name``,
        ``pre`` (-1 = input), ``post``, dense ``mask`` and ``w`` of shape (n_pre, n_post)),
        ``alphas`` and ``subtract`` (membrane decay and reset by subtraction per group),
        ``theta``, ``w_max``, ``class_of`` and ``n_classes``.
    """
    cfg = nmnist.config('full', n_hidden, pop_size)
    net = Network(cfg, seed)
    sizes = [g.v.size for g in net.groups]
    projs = []
    for p in net.projections:
        n_pre = net.n_inputs if p.pre < 0 else sizes[p.pre]
        n_post = sizes[p.post]
        pre = np.repeat(np.arange(n_pre), np.diff(p.indptr))
        mask = np.zeros((n_pre, n_post), np.float32)
        w = np.zeros((n_pre, n_post), np.float32)
        mask[pre, p.indices] = 1.0
        w[pre, p.indices] = p.proj.weights()
        projs.append({'name': p.name, 'pre': p.pre, 'post': p.post, 'mask': mask, 'w': w})
    lifs = net.group_params
    return {'sizes': sizes, 'projections': projs,
            'alphas': [q.alpha for q in lifs],
            'subtract': [q.reset_mode == ResetMode.SUBTRACT for q in lifs],
            'theta': cfg.neuron.threshold, 'w_max': cfg.plasticity.w_max,
            'class_of': net.class_of.copy(), 'n_classes': net.n_classes}


def _build(arch: dict[str, Any], slope: float):
    import torch

    class Spike(torch.autograd.Function):
        """Heaviside forward, fast-sigmoid derivative ``1 / (1 + slope |x|)^2`` backward."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return (x >= 0).to(x.dtype)

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad / (1.0 + slope * x.abs()) ** 2

    class Model(torch.nn.Module):
        """The core network's groups and masked projections, unrolled in time."""

        def __init__(self):
            super().__init__()
            self.sizes = arch['sizes']
            self.meta = [(p['pre'], p['post']) for p in arch['projections']]
            projs = arch['projections']
            # The input projection is very sparse (local receptive fields): its weights are a
            # vector over the existing synapses, applied by gather and index_add.
            inp = [k for k, p in enumerate(projs) if p['pre'] < 0]
            self.k_in = inp[0]
            pre, post = np.nonzero(projs[self.k_in]['mask'])
            self.register_buffer('in_pre', torch.from_numpy(pre.astype(np.int64)))
            self.register_buffer('in_post', torch.from_numpy(post.astype(np.int64)))
            params = []
            for k, p in enumerate(projs):
                if k == self.k_in:
                    w0 = p['w'][pre, post].copy()
                    self.register_buffer(f'mask{k}', torch.ones(w0.size))
                else:
                    w0 = p['w'].copy()
                    self.register_buffer(f'mask{k}', torch.from_numpy(p['mask']))
                params.append(torch.nn.Parameter(torch.from_numpy(w0)))
            self.w = torch.nn.ParameterList(params)
            onehot = np.zeros((len(arch['class_of']), arch['n_classes']), np.float32)
            onehot[np.arange(len(arch['class_of'])), arch['class_of']] = 1.0
            self.register_buffer('onehot', torch.from_numpy(onehot / onehot.sum(0)))

        def masked(self):
            return [w * getattr(self, f'mask{k}') for k, w in enumerate(self.w)]

        def forward(self, x):
            n_t, n_b, _ = x.shape
            ws = self.masked()
            drive = [None] * len(self.sizes)
            post_in = self.meta[self.k_in][1]
            xs = x.reshape(n_t * n_b, -1)[:, self.in_pre] * ws[self.k_in]
            d = xs.new_zeros(n_t * n_b, self.sizes[post_in]).index_add(1, self.in_post, xs)
            drive[post_in] = d.reshape(n_t, n_b, -1)
            v = [x.new_zeros(n_b, n) for n in self.sizes]
            counts = x.new_zeros(n_b, self.sizes[-1])
            alphas, subtract, theta = arch['alphas'], arch['subtract'], arch['theta']
            for t in range(n_t):
                v = [a * vg for a, vg in zip(alphas, v)]
                s = [Spike.apply(vg - theta) for vg in v]
                cur = [drive[g][t] if drive[g] is not None else x.new_zeros(n_b, n)
                       for g, n in enumerate(self.sizes)]
                for k, (pre, post) in enumerate(self.meta):
                    if k != self.k_in:
                        cur[post] = cur[post] + s[pre] @ ws[k]
                v = [vg + cg - theta * sg.detach() if sub else (1.0 - sg.detach()) * (vg + cg)
                     for vg, sg, cg, sub in zip(v, s, cur, subtract)]
                counts = counts + s[-1]
            return counts @ self.onehot

    return Model()


def run(data: dict[str, np.ndarray], seed: int, *, n_train: int = 1000, n_test: int = 100,
        epochs: int = 10, n_hidden: int = 1024, pop_size: int = 8, batch_size: int = 25,
        lr: float = 1e-3, slope: float = 5.0, threads: int = 1) -> dict[str, Any]:
    """Train the BPTT twin on the first ``n_train`` samples; return a run record.

    The record has the keys of :func:`snn_ros.study.nmnist.run` (``synaptic_updates`` counts
    one update per unmasked weight per optimizer step; ``state_bytes`` holds parameters,
    masks and Adam moments). ``curve`` is the training accuracy per epoch.

    Raises:
        ImportError: torch is not importable (check :func:`available` first).
    """
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(max(1, int(threads)))
    rng = np.random.default_rng(seed)
    arch = architecture(n_hidden, pop_size, seed)
    model = _build(arch, slope)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n_train = min(n_train, data['train_labels'].size)
    n_test = min(n_test, data['test_labels'].size)
    x_train = np.stack([nmnist.dense_sample(data, 'train', i).astype(np.uint8)
                        for i in range(n_train)], 1)
    y_train = data['train_labels'][:n_train]
    x_test = np.stack([nmnist.dense_sample(data, 'test', i).astype(np.uint8)
                       for i in range(n_test)], 1)
    y_test = data['test_labels'][:n_test]
    n_weights = int(sum(p['mask'].sum() for p in arch['projections']))
    w_max = arch['w_max']
    updates = 0
    curve_x: list[int] = []
    curve_y: list[float] = []
    epoch_test: list[float] = []
    train_time = 0.0
    for epoch in range(epochs):
        model.train()
        order = rng.permutation(n_train)
        hits = 0
        t0 = time.perf_counter()
        for b in range(0, n_train, batch_size):
            sel = order[b:b + batch_size]
            xb = torch.from_numpy(x_train[:, sel]).float()
            yb = torch.from_numpy(y_train[sel])
            out = model(xb)
            loss = torch.nn.functional.cross_entropy(out, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                for w in model.w:
                    w.clamp_(-w_max, w_max)
            updates += n_weights
            hits += int((_argmax_low(out.detach().numpy()) == y_train[sel]).sum())
        train_time += time.perf_counter() - t0
        curve_x.append(epoch + 1)
        curve_y.append(hits / n_train)
        epoch_test.append(_evaluate(model, x_test, y_test, batch_size))
    state = sum(p.numel() * p.element_size() * 3 for p in model.parameters())
    state += sum(b.numel() * b.element_size() for b in model.buffers())
    return {'task': 'nmnist', 'setting': 'bptt', 'seed': seed,
            'metrics': {'accuracy': epoch_test[-1]},
            'train_time_s': train_time, 'synaptic_updates': updates,
            'synaptic_events': None, 'state_bytes': int(state),
            'peak_rss_mb': peak_rss_mb(),
            'curve': {'x': curve_x, 'y': curve_y, 'x_label': 'epoch',
                      'y_label': 'train accuracy'},
            'epoch_test_accuracy': epoch_test,
            'params': {'n_train': n_train, 'n_test': n_test, 'epochs': epochs,
                       'n_hidden': n_hidden, 'pop_size': pop_size, 'batch_size': batch_size,
                       'lr': lr, 'surrogate_slope': slope, 'optimizer': 'Adam',
                       'torch': torch.__version__}}


def _argmax_low(z: np.ndarray) -> np.ndarray:
    """Argmax per row, ties to the lowest class (the core's decision rule)."""
    return np.argmax(z, axis=1)


def _evaluate(model, x: np.ndarray, y: np.ndarray, batch_size: int) -> float:
    import torch

    model.eval()
    hits = 0
    with torch.no_grad():
        for b in range(0, y.size, batch_size):
            out = model(torch.from_numpy(x[:, b:b + batch_size]).float()).numpy()
            hits += int((_argmax_low(out) == y[b:b + batch_size]).sum())
    return hits / max(y.size, 1)


def skipped(reason: str) -> dict[str, Any]:
    """Return the run record of a skipped BPTT setting."""
    return {'task': 'nmnist', 'setting': 'bptt', 'seed': None, 'skipped': True,
            'reason': reason, 'metrics': {'accuracy': None}}
