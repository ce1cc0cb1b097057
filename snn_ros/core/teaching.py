"""Teaching signal, its broadcast to hidden neurons, and the reward baseline.

The error vector ``err`` (one value per class) says which class to push up (> 0) or down
(< 0). It reaches hidden neurons only as a modulatory third factor of plasticity, never as
current.
"""

from __future__ import annotations

import numpy as np

from snn_ros.core._numba import njit


@njit
def _margin_wta(counts, target, margin, gain, balance, err):
    """Teach: err[t] = +g if z_t - max_{c!=t} z_c < m; err[c] = -g / r if z_t - z_c < m (c != t).

    ``r`` is the number of violating rivals when ``balance`` (the error then sums to zero),
    else 1. Every other entry is 0. Mutates err.
    """
    n = counts.shape[0]
    rival = -np.inf
    for c in range(n):
        err[c] = 0.0
        if c != target and counts[c] > rival:
            rival = counts[c]
    if counts[target] - rival < margin:
        err[target] = gain
    n_viol = 0
    for c in range(n):
        if c != target and counts[target] - counts[c] < margin:
            n_viol += 1
    down = gain / n_viol if balance and n_viol > 0 else gain
    for c in range(n):
        if c != target and counts[target] - counts[c] < margin:
            err[c] = -down


def margin_wta(counts: np.ndarray, target: int, margin: float, gain: float,
               out: np.ndarray, balance: bool = False) -> np.ndarray:
    """Return the sparse margin winner-take-all error for ``target`` (written into ``out``).

    Args:
        counts: spike counts per class (float64[C]).
        target: the correct class.
        margin: required lead of the target over every rival.
        gain: magnitude of each non-zero entry.
        out: float64[C] output buffer.
        balance: rivals share ``-gain`` (the error sums to zero when the target is pushed).

    Raises:
        ValueError: target out of range or shapes that do not match.
    """
    n = counts.shape[0]
    if not 0 <= int(target) < n:
        raise ValueError(f'target class {target} out of range [0, {n})')
    if out.shape != counts.shape:
        raise ValueError('out must have the shape of counts')
    _margin_wta(counts.astype(np.float64, copy=False), int(target), float(margin),
                float(gain), bool(balance), out)
    return out


@njit
def _modulate_populations(err, a_mat, act, g_indptr, g_indices, g_weights, gain, m_out):
    """Broadcast: a = A err (M populations); m_i = gain * sum_{j in fan-in(i)} G_ij a_j.

    ``G`` is CSR by hidden neuron. Mutates act and m_out.
    """
    n_pop, n_cls = a_mat.shape
    for j in range(n_pop):
        s = 0.0
        for c in range(n_cls):
            s += a_mat[j, c] * err[c]
        act[j] = s
    for i in range(g_indptr.shape[0] - 1):
        s = 0.0
        for p in range(g_indptr[i], g_indptr[i + 1]):
            s += g_weights[p] * act[g_indices[p]]
        m_out[i] = gain * s


@njit
def _modulate_direct(err, b_mat, gain, m_out):
    """Broadcast directly: m_i = gain * sum_c B_ic err_c. Mutates m_out."""
    n, n_cls = b_mat.shape
    for i in range(n):
        s = 0.0
        for c in range(n_cls):
            s += b_mat[i, c] * err[c]
        m_out[i] = gain * s


@njit
def _class_gather(err, cls_of, m_out):
    """Gather: m_j = err[class(j)] for every readout neuron j. Mutates m_out."""
    for j in range(cls_of.shape[0]):
        m_out[j] = err[cls_of[j]]


class ModulatoryProjection:
    """Fixed random path from the C-dim error to one modulatory value per hidden neuron.

    ``populations`` mode: ``a = A err`` with ``A`` (M x C) N(0, 1/sqrt(C)); each hidden neuron
    listens to ``fan_in`` random populations with weights N(0, 1/sqrt(fan_in)). ``direct``
    mode (ablation): ``m = B err`` with a dense N(0, 1/sqrt(C)) matrix per neuron.
    """

    def __init__(self, rng: np.random.Generator, n_hidden: int, n_classes: int,
                 n_populations: int, fan_in: int, direct: bool = False, gain: float = 1.0):
        self.n_hidden = n_hidden
        self.n_classes = n_classes
        self.direct = direct
        self.gain = float(gain)
        self.activity = np.zeros(n_populations)
        self.a_mat = rng.normal(0.0, 1.0 / np.sqrt(n_classes), (n_populations, n_classes))
        keys = rng.random((n_hidden, n_populations))
        chosen = np.sort(np.argsort(keys, axis=1)[:, :fan_in], axis=1)
        self.g_indptr = np.arange(n_hidden + 1, dtype=np.int64) * fan_in
        self.g_indices = chosen.reshape(-1).astype(np.int64)
        self.g_weights = rng.normal(0.0, 1.0 / np.sqrt(fan_in), n_hidden * fan_in)
        self.b_mat = (rng.normal(0.0, 1.0 / np.sqrt(n_classes), (n_hidden, n_classes))
                      if direct else np.zeros((0, n_classes)))

    def __call__(self, err: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Write the modulatory signal of every hidden neuron for ``err`` into ``out``."""
        err = np.ascontiguousarray(err, dtype=np.float64)
        if self.direct:
            _modulate_direct(err, self.b_mat, self.gain, out)
            self.activity[:] = 0.0
        else:
            _modulate_populations(err, self.a_mat, self.activity, self.g_indptr,
                                  self.g_indices, self.g_weights, self.gain, out)
        return out


def class_gather(err: np.ndarray, cls_of: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Write ``err[class(j)]`` for every readout neuron ``j`` into ``out`` (delta rule factor)."""
    _class_gather(np.ascontiguousarray(err, dtype=np.float64), cls_of, out)
    return out


class RewardBaseline:
    """Running mean of the reward: ``b <- b + (r - b) / tau``; the signal is ``r - b``."""

    def __init__(self, tau: float, value: float = 0.0):
        self.tau = float(tau)
        self.value = float(value)

    def update(self, r: float) -> float:
        """Return ``r - b`` (baseline before this reward), then move ``b`` toward ``r``."""
        adv = r - self.value
        self.value += adv / self.tau
        return adv
