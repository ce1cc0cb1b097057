"""Discrete-time LIF neurons with an adaptive (homeostatic) threshold.

Per step (WORKLOAD.md order): ``lif_threshold`` does the leak and the threshold test (phases 1
and 2), projections deliver into the current buffer ``i_in`` (phase 3), ``lif_integrate_reset``
adds the current, resets spiking neurons and runs the refractory counters (phase 4), and
``homeostasis`` moves each threshold toward the target rate. With
``plasticity.elig_v_fraction = kappa < 1``, ``lif_near`` lists after the threshold test the
hidden neurons with ``v >= kappa * theta`` (the spikes among them): these, not only the spikes,
are the postsynaptic events of the eligibility traces of their incoming synapses, a one-sided
box pseudo-derivative as in e-prop's surrogate, so a neuron that nearly fired for the right
class can still be credited. It changes plasticity only, never the dynamics.
"""

from __future__ import annotations

from dataclasses import dataclass
import math

import numpy as np

from snn_ros.core._numba import njit
from snn_ros.core.config import NeuronConfig


@njit
def _lif_threshold(v, theta, ref, alpha, spiked, idx_out):
    """Leak and test: v <- alpha * v; s = (v >= theta) and ref == 0.

    Writes the spike flags into ``spiked`` (uint8) and the spiking indices into the front of
    ``idx_out``; returns the number of spikes. Mutates v, spiked, idx_out.
    """
    n = 0
    for i in range(v.shape[0]):
        v[i] *= alpha
        if ref[i] == 0 and v[i] >= theta[i]:
            spiked[i] = 1
            idx_out[n] = i
            n += 1
        else:
            spiked[i] = 0
    return n


@njit
def _near_threshold(v, theta, ref, kappa, idx_out):
    """Eligibility events: the neurons with ``v >= kappa * theta`` and ``ref == 0``.

    Call after :func:`_lif_threshold` (``v`` leaked); with ``kappa = 1`` these are exactly
    its spikes. Writes the indices into the front of ``idx_out``; returns their number.
    """
    n = 0
    for i in range(v.shape[0]):
        if ref[i] == 0 and v[i] >= kappa * theta[i]:
            idx_out[n] = i
            n += 1
    return n


@njit
def _lif_integrate_reset(v, i_in, spiked, theta, ref, reset_mode, refractory_steps):
    """Integrate and reset: v <- v + I; v[s] <- 0 or v + I - theta; ref[s] <- R.

    Refractory neurons discard their input and count down. Mutates v, i_in, ref.
    """
    for i in range(v.shape[0]):
        if spiked[i]:
            if reset_mode == 0:
                v[i] = 0.0
            else:
                v[i] = v[i] + i_in[i] - theta[i]
            ref[i] = refractory_steps
        elif ref[i] > 0:
            ref[i] -= 1
        else:
            v[i] += i_in[i]
        i_in[i] = 0.0


@njit
def _homeostasis(theta, spiked, eta, p_target, theta_min, theta_max):
    """Adapt: theta <- clip(theta + eta * (s - p_target), theta_min, theta_max).

    ``p_target = target_rate_hz * dt_s``. Mutates theta.
    """
    for i in range(theta.shape[0]):
        t = theta[i] + eta * (spiked[i] - p_target)
        if t < theta_min:
            t = theta_min
        elif t > theta_max:
            t = theta_max
        theta[i] = t


@dataclass
class LIFState:
    """Preallocated state of one LIF group."""

    v: np.ndarray
    theta: np.ndarray
    ref: np.ndarray
    i_in: np.ndarray
    spiked: np.ndarray
    idx: np.ndarray
    near: np.ndarray
    n_spikes: int = 0
    n_near: int = 0

    @classmethod
    def zeros(cls, n: int, threshold: float) -> LIFState:
        """Return a resting group of ``n`` neurons with thresholds ``threshold``."""
        return cls(v=np.zeros(n), theta=np.full(n, float(threshold)),
                   ref=np.zeros(n, np.int64), i_in=np.zeros(n),
                   spiked=np.zeros(n, np.uint8), idx=np.zeros(n, np.int64),
                   near=np.zeros(n, np.int64))

    @property
    def spikes(self) -> np.ndarray:
        """Return the indices that spiked at the last threshold test (a view)."""
        return self.idx[:self.n_spikes]

    @property
    def near_spikes(self) -> np.ndarray:
        """Return the eligibility events of the last :func:`lif_near` call (a view)."""
        return self.near[:self.n_near]

    def reset_dynamics(self) -> None:
        """Zero membrane, current, refractory counters and spike flags; keep thresholds."""
        self.v[:] = 0.0
        self.i_in[:] = 0.0
        self.ref[:] = 0
        self.spiked[:] = 0
        self.n_spikes = 0
        self.n_near = 0


@dataclass(frozen=True)
class LIFParams:
    """Derived constants of a neuron config for one time step."""

    alpha: float
    reset_mode: int
    refractory_steps: int
    homeostasis: bool
    eta: float
    p_target: float
    theta_min: float
    theta_max: float

    @classmethod
    def from_config(cls, cfg: NeuronConfig, dt_s: float) -> LIFParams:
        """Compute ``alpha = exp(-dt/tau)`` and the homeostatic step once.

        ``eta = threshold / (homeo_tau_s * target_rate_hz)``: firing at twice the target rate
        raises the threshold by about one initial threshold per ``homeo_tau_s``.
        """
        return cls(alpha=math.exp(-dt_s / cfg.tau_mem_s), reset_mode=int(cfg.reset_code),
                   refractory_steps=cfg.refractory_steps, homeostasis=cfg.homeostasis,
                   eta=cfg.threshold / (cfg.homeo_tau_s * cfg.target_rate_hz),
                   p_target=cfg.target_rate_hz * dt_s, theta_min=cfg.theta_min,
                   theta_max=cfg.theta_max)


def lif_threshold(state: LIFState, p: LIFParams) -> np.ndarray:
    """Leak and threshold one group (phases 1-2); return the spiking indices (a view)."""
    state.n_spikes = _lif_threshold(state.v, state.theta, state.ref, p.alpha, state.spiked,
                                    state.idx)
    return state.idx[:state.n_spikes]


def lif_near(state: LIFState, kappa: float) -> np.ndarray:
    """Find the eligibility events of one group after its threshold test (a view)."""
    state.n_near = _near_threshold(state.v, state.theta, state.ref, kappa, state.near)
    return state.near[:state.n_near]


def lif_integrate_reset(state: LIFState, p: LIFParams) -> None:
    """Integrate the delivered current, reset and count down refractoriness (phase 4)."""
    _lif_integrate_reset(state.v, state.i_in, state.spiked, state.theta, state.ref,
                         p.reset_mode, p.refractory_steps)
    if p.homeostasis:
        _homeostasis(state.theta, state.spiked, p.eta, p.p_target, p.theta_min, p.theta_max)
