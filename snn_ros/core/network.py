"""The structured recurrent spiking network that learns online through modulatory feedback.

Groups: K hidden LIF layers and one readout of C classes x ``pop_size`` LIF neurons.
Projections (all :class:`~snn_ros.core.plasticity.Projection`, CSR by presynaptic neuron):
input -> L1 and L(k-1) -> Lk (sparse random), Lk -> Lk (dense microcircuits), Lk -> readout
(small-world ring lattice). Per step t (WORKLOAD.md): leak and threshold every group; for
each projection deliver this step's presynaptic spikes (one-step latency), add eligibility
for this step's postsynaptic spikes, then bump the presynaptic trace; integrate, reset and
adapt thresholds. The teaching error reaches synapses only through ``set_modulation``.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
import math
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from snn_ros.core import checkpoint, connectivity, params as params_mod
from snn_ros.core.config import FeedbackMode, ModulationMode, NetworkConfig
from snn_ros.core.errors import CheckpointError, ConfigError, InputError
from snn_ros.core.fused import run_steps
from snn_ros.core.neurons import (LIFParams, LIFState, lif_integrate_reset, lif_near,
                                  lif_threshold)
from snn_ros.core.teaching import class_gather, margin_wta, ModulatoryProjection, RewardBaseline

INPUT = -1


@dataclass(frozen=True)
class Decision:
    """Readout decision over the current window."""

    label: int
    counts: np.ndarray
    margin: float
    confidence: float


#: ``Decision.label`` when no readout neuron spiked in the window (no decision)
NO_DECISION = -1


def decide(counts: Any) -> Decision:
    """Return the class with most spikes in ``counts``, its margin and confidence.

    ``margin`` is the lead over the strongest rival and ``confidence`` is
    ``margin / total count``. Ties go to the lowest class index. Without any spike the label
    is :data:`NO_DECISION` (-1) with margin and confidence 0, so a silent readout never reads
    as class 0.

    Args:
        counts: spike count per class over the window.

    Returns:
        The decision (``counts`` is a copy).
    """
    z = np.array(counts, copy=True)
    total = float(z.sum())
    if not total > 0:
        return Decision(NO_DECISION, z, 0.0, 0.0)
    label = int(np.argmax(z))
    rival = float(np.max(np.delete(z, label))) if z.size > 1 else 0.0
    margin = float(z[label] - rival)
    return Decision(label, z, margin, margin / total)


@dataclass
class _Proj:
    name: str
    proj: Any
    pre: int
    post: int
    kind: str  # 'input', 'ff', 'rec', 'readout'
    indptr: np.ndarray
    indices: np.ndarray


def _default_projection_factory() -> Callable[..., Any]:
    from snn_ros.core.plasticity import Projection
    return Projection


def _stored_weights(proj: Any) -> np.ndarray:
    """Return a projection's weights as stored, without bringing lazy synapses up to date."""
    arrays = getattr(proj, 'arrays', None)
    return arrays.w if arrays is not None else proj.weights()


class Network:
    """K recurrent LIF layers, a population readout and three-factor learning.

    Args:
        config: the validated configuration.
        seed: seed of the network's one ``np.random.Generator`` (wiring, feedback matrices).
        projection_factory: class with the ``Projection`` API (default: the fast
            event-driven one; tests pass :class:`~snn_ros.core.reference.ReferenceProjection`).
    """

    def __init__(self, config: NetworkConfig, seed: int = 0, *,
                 projection_factory: Callable[..., Any] | None = None):
        if not isinstance(config, NetworkConfig):
            raise ConfigError(f'config: expected a NetworkConfig, got {type(config).__name__}')
        self.config = config
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self._factory = projection_factory or _default_projection_factory()
        cfg = config
        lay, ro, pl = cfg.layers, cfg.readout, cfg.plasticity
        n_h, n_k = lay.n_hidden, lay.n_layers
        self.n_inputs = cfg.n_inputs
        self.n_classes = ro.n_classes
        self.groups = [LIFState.zeros(n_h, cfg.neuron.threshold) for _ in range(n_k)]
        self.groups.append(LIFState.zeros(ro.n_readout, cfg.neuron.threshold))
        self.readout_group = n_k
        self._set_neuron_params(cfg)
        self.class_of = np.repeat(np.arange(ro.n_classes), ro.pop_size).astype(np.int64)
        lam_x = math.exp(-cfg.dt_s / pl.tau_pre_s)
        lam_e = math.exp(-cfg.dt_s / pl.tau_elig_s)
        wm = pl.w_max
        scale = 1024.0 / n_h
        self.projections: list[_Proj] = []
        self.signs: list[np.ndarray | None] = []

        def add(name, pre, post, n_pre, n_post, csr, kind, sign, plastic=True):
            indptr, indices, w = csr
            w = np.clip(w, -wm, wm)
            proj = self._factory(n_pre, n_post, indptr, indices, w, lam_x=lam_x, lam_e=lam_e,
                                 w_min=-wm, w_max=wm, plastic=plastic, sign=sign)
            proj.learning_rate = pl.lr_readout if kind == 'readout' else pl.lr_hidden
            proj.learning = pl.learning
            self.projections.append(_Proj(name, proj, pre, post, kind, indptr, indices))

        for k in range(n_k):
            sign = None
            if lay.dale:
                sign = np.where(self.rng.random(n_h) < lay.exc_fraction, 1.0, -1.0)
            self.signs.append(sign)
            if k == 0:
                if lay.input_width > 0:
                    csr = connectivity.local_csr(self.rng, cfg.n_inputs, n_h, lay.input_width,
                                                 lay.input_height, lay.rf_radius, lay.p_input,
                                                 0.0, lay.w_input)
                else:
                    csr = connectivity.random_csr(self.rng, cfg.n_inputs, n_h, lay.p_input,
                                                  0.0, lay.w_input)
                add('input_l1', INPUT, 0, cfg.n_inputs, n_h, csr, 'input', None)
            else:
                csr = connectivity.random_csr(self.rng, n_h, n_h, lay.p_ff, 0.0,
                                              lay.w_ff * scale)
                prev = self.signs[k - 1]
                if prev is not None:
                    csr = (csr[0], csr[1], csr[2] * prev[np.repeat(np.arange(n_h),
                                                                   np.diff(csr[0]))])
                add(f'l{k}_l{k + 1}', k - 1, k, n_h, n_h, csr, 'ff', prev)
            csr = connectivity.block_recurrent_csr(self.rng, n_h, lay.block_size,
                                                   lay.w_rec_std, sign, lay.p_rewire_rec)
            add(f'l{k + 1}_rec', k, k, n_h, n_h, csr, 'rec', sign,
                plastic=lay.plastic_recurrent)
        order = connectivity.ring_order(ro.n_classes, ro.pop_size)
        k_ro = max(1, int(round(ro.p_readout * ro.n_readout)))
        for k in range(n_k):
            csr = connectivity.small_world_csr(self.rng, n_h, ro.n_readout, k_ro, ro.p_rewire,
                                               0.0, ro.w_readout * scale, order)
            sign = self.signs[k]
            if sign is not None:
                csr = (csr[0], csr[1], csr[2] * sign[np.repeat(np.arange(n_h),
                                                               np.diff(csr[0]))])
            add(f'l{k + 1}_readout', k, n_k, n_h, ro.n_readout, csr, 'readout', sign)
        mod = cfg.modulation
        self.modulation = ModulatoryProjection(
            self.rng, n_h * n_k, ro.n_classes, mod.n_populations, mod.fan_in,
            direct=mod.mode_code == ModulationMode.DIRECT, gain=mod.gain)
        self.baseline = RewardBaseline(mod.baseline_tau)
        self._m_hidden = np.zeros(n_h * n_k)
        self._m_readout = np.zeros(ro.n_readout)
        self._err = np.zeros(ro.n_classes)
        self._err_buf = np.zeros(ro.n_classes)
        self._counts = np.zeros(ro.n_classes)
        self._t = 0
        self._window_n = 0
        self._last_label = -1
        self._stat_spikes = np.zeros(n_k + 1, np.int64)
        self._stat_steps = 0
        self._n_mod_events = 0
        self._mod_pending = False
        self._delta_rule = ro.delta_rule
        self._all_readout = np.arange(ro.n_readout, dtype=np.int64)
        # per projection, for run_flat: pre group (-1: input), post group, flags
        self._batch_pre = np.array([-1 if p.pre == INPUT else p.pre for p in self.projections],
                                   np.int64)
        self._batch_post = np.array([p.post for p in self.projections], np.int64)
        self._batch_plastic = np.array([p.proj.plastic for p in self.projections], np.bool_)
        self._fused = all(hasattr(p.proj, 'begin_batch') for p in self.projections)
        self._batch_fired_all = np.array([p.kind == 'readout' and self._delta_rule
                                          for p in self.projections], np.bool_)

    # ------------------------------------------------------------------ stepping
    @property
    def t(self) -> int:
        """Return the number of steps run (the index of the next step)."""
        return self._t

    def _check_indices(self, input_indices: Any) -> np.ndarray:
        idx = self._valid_indices(input_indices)
        return np.unique(idx).astype(np.int64) if idx.size else np.zeros(0, np.int64)

    def _valid_indices(self, input_indices: Any) -> np.ndarray:
        try:
            idx = np.asarray(input_indices)
        except Exception as err:
            raise InputError(f'input indices not convertible to an array: {err}') from err
        if idx.ndim != 1:
            raise InputError(f'input indices must be 1-D, got shape {idx.shape}')
        if idx.size == 0:
            return np.zeros(0, np.int64)
        if idx.dtype.kind not in 'iu':
            raise InputError(f'input indices must be integers, got dtype {idx.dtype}')
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= self.n_inputs:
            raise InputError(f'input index out of range [0, {self.n_inputs}): min {lo}, '
                             f'max {hi}')
        return idx

    def step(self, input_indices: Any) -> np.ndarray:
        """Advance one step with the given input channels spiking; return readout spikes.

        Args:
            input_indices: channel indices in ``[0, n_inputs)`` (duplicates count once).

        Returns:
            Indices of the readout neurons that spiked (a new array).

        Raises:
            InputError: malformed or out-of-range indices; the network is left untouched.
        """
        idx = self._check_indices(input_indices)
        self._step(idx)
        return self.groups[self.readout_group].spikes.copy()

    def _step(self, idx: np.ndarray) -> None:
        t = self._t
        if self._mod_pending:
            self._push_modulation(t)
        groups = self.groups
        lifs = self._lifs
        for g, lif in zip(groups, lifs):
            lif_threshold(g, lif)
        kappa = self.config.plasticity.elig_v_fraction
        near = kappa < 1.0
        if near:
            for g in groups[:self.readout_group]:
                lif_near(g, kappa)
        for p in self.projections:
            pre = idx if p.pre == INPUT else groups[p.pre].spikes
            post = groups[p.post]
            if p.kind == 'readout':
                fired = self._all_readout if self._delta_rule else post.spikes
            else:
                fired = post.near_spikes if near else post.spikes
            p.proj.step(t, pre, fired, post.i_in)   # deliver, on_post, on_pre in one call
        for k, (g, lif) in enumerate(zip(groups, lifs)):
            lif_integrate_reset(g, lif)
            self._stat_spikes[k] += g.n_spikes
        ro = groups[self.readout_group]
        if ro.n_spikes:
            np.add.at(self._counts, self.class_of[ro.spikes], 1.0)
        self._window_n += 1
        self._stat_steps += 1
        self._t = t + 1

    def _set_neuron_params(self, cfg: NetworkConfig) -> None:
        """Derive the step constants per group (hidden layers, then the readout's own)."""
        self._lif = LIFParams.from_config(cfg.neuron, cfg.dt_s)
        lif_ro = LIFParams.from_config(cfg.readout.neuron(cfg.neuron), cfg.dt_s)
        self._lifs = [self._lif] * self.readout_group + [lif_ro]
        self._group_alpha = np.array([q.alpha for q in self._lifs])
        self._group_reset = np.array([q.reset_mode for q in self._lifs], np.int64)
        self._group_eta = np.array([q.eta for q in self._lifs])
        self._group_p_target = np.array([q.p_target for q in self._lifs])

    @property
    def group_params(self) -> tuple[LIFParams, ...]:
        """Return the step constants per group (hidden layers, then the readout's own)."""
        return tuple(self._lifs)

    def run(self, steps: Iterable[Any]) -> list[np.ndarray]:
        """Run one step per element of ``steps`` (input indices); return readout spikes per step.

        Every element is validated before the first step, so bad input changes nothing.
        """
        checked = [self._check_indices(s) for s in steps]
        out = []
        for idx in checked:
            self._step(idx)
            out.append(self.groups[self.readout_group].spikes.copy())
        return out

    def run_batch(self, indices: Any, step_offsets: Any, n_steps: int) -> list[np.ndarray]:
        """Run ``n_steps`` steps; ``indices[i]`` spikes at step ``step_offsets[i]``.

        This is the layout of :class:`snn_ros.adapters.base.SpikeBatch`. Returns the readout
        spikes per step. Same result as :meth:`run` (one numba call for the whole batch).

        Raises:
            InputError: mismatched lengths, offsets decreasing or outside ``[0, n_steps)``,
                or indices out of range; nothing is stepped then.
        """
        ro_idx, ro_off, _, _ = self.run_flat(indices, step_offsets, n_steps)
        bounds = np.searchsorted(ro_off, np.arange(int(n_steps) + 1))
        return [ro_idx[bounds[k]:bounds[k + 1]] for k in range(int(n_steps))]

    def run_flat(self, indices: Any, step_offsets: Any, n_steps: int, *, hidden: bool = False
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Run a :class:`SpikeBatch`-shaped batch; return spikes as (indices, step) pairs.

        Returns:
            ``(readout_idx, readout_step, hidden_idx, hidden_step)``; hidden layer ``k`` at
            ``k * n_hidden``, empty unless ``hidden``. Steps count from 0 within the batch.

        Raises:
            InputError: as :meth:`run_batch`; nothing is stepped then.
        """
        idx, bounds, n_steps = self._check_batch(indices, step_offsets, n_steps)
        if not self._fused:
            return self._run_flat_stepwise(idx, bounds, n_steps, hidden)
        n_ro = self.groups[self.readout_group].v.size
        ro_out = np.empty(n_steps * n_ro, np.int64)
        ro_off = np.empty(n_steps * n_ro, np.int64)
        n_hid_all = sum(g.v.size for g in self.groups[:self.readout_group])
        size_h = n_steps * n_hid_all if hidden else 0
        hid_out = np.empty(size_h, np.int64)
        hid_off = np.empty(size_h, np.int64)
        if n_steps == 0:
            return ro_out, ro_off, hid_out, hid_off
        t0 = self._t
        if self._mod_pending:
            self._push_modulation(t0)
        for p in self.projections:
            p.proj.begin_batch(t0, n_steps)
        groups, lif = self.groups, self._lif
        projs = tuple(p.proj.arrays for p in self.projections)
        nsp = np.zeros(len(groups), np.int64)
        nnear = np.zeros(len(groups), np.int64)
        n_r, n_h = run_steps(
            n_steps, t0, idx, bounds, tuple(g.v for g in groups),
            tuple(g.theta for g in groups), tuple(g.ref for g in groups),
            tuple(g.i_in for g in groups), tuple(g.spiked for g in groups),
            tuple(g.idx for g in groups), nsp, self._group_alpha, self._group_reset,
            lif.refractory_steps, lif.homeostasis, self._group_eta, self._group_p_target,
            lif.theta_min, lif.theta_max, projs,
            self._batch_pre, self._batch_post, self._batch_plastic, self._batch_fired_all,
            self._all_readout, self.readout_group, self.class_of,
            self._counts, self._stat_spikes, self.config.layers.n_hidden, hidden, ro_out,
            ro_off, hid_out, hid_off, self.config.plasticity.elig_v_fraction,
            tuple(g.near for g in groups), nnear)
        for g, n, m in zip(groups, nsp, nnear):
            g.n_spikes = int(n)
            g.n_near = int(m)
        self._window_n += n_steps
        self._stat_steps += n_steps
        self._t = t0 + n_steps
        return ro_out[:n_r], ro_off[:n_r], hid_out[:n_h], hid_off[:n_h]

    def _run_flat_stepwise(self, idx: np.ndarray, bounds: np.ndarray, n_steps: int,
                           hidden: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``run_flat`` one :meth:`step` at a time (projections without the fused kernels)."""
        n_h = self.config.layers.n_hidden
        parts: tuple[list[np.ndarray], ...] = ([], [], [], [])
        for s in range(n_steps):
            self._step(idx[bounds[s]:bounds[s + 1]])
            spikes = [g.spikes.astype(np.int64) for g in self.groups]
            parts[0].append(spikes[self.readout_group].copy())
            parts[1].append(np.full(spikes[self.readout_group].size, s, np.int64))
            if hidden:
                h = np.concatenate([x + k * n_h for k, x in
                                    enumerate(spikes[:self.readout_group])])
                parts[2].append(h)
                parts[3].append(np.full(h.size, s, np.int64))
        return tuple(np.concatenate(x) if x else np.zeros(0, np.int64)  # type: ignore
                     for x in parts)

    def _check_batch(self, indices: Any, step_offsets: Any, n_steps: Any
                     ) -> tuple[np.ndarray, np.ndarray, int]:
        """Validate a batch; return the per-step sorted unique channels and their bounds."""
        try:
            idx = np.asarray(indices)
            off = np.asarray(step_offsets)
            n_steps = int(n_steps)
        except Exception as err:
            raise InputError(f'batch not convertible to arrays: {err}') from err
        if n_steps < 0:
            raise InputError(f'n_steps must be >= 0, got {n_steps}')
        if idx.ndim != 1 or off.ndim != 1 or idx.shape != off.shape:
            raise InputError(f'indices and step_offsets must be 1-D of equal length, got '
                             f'{idx.shape} and {off.shape}')
        if off.size:
            if off.dtype.kind not in 'iu':
                raise InputError(f'step_offsets must be integers, got dtype {off.dtype}')
            if np.any(np.diff(off.astype(np.int64)) < 0):
                raise InputError('step_offsets must be non-decreasing')
            if int(off.min()) < 0 or int(off.max()) >= n_steps:
                raise InputError(f'step_offsets outside [0, {n_steps})')
        idx = self._valid_indices(idx)
        if idx.size:   # sorted unique channels per step, as step() uses them
            key = off.astype(np.int64) * self.n_inputs + idx.astype(np.int64)
            if not bool(np.all(key[1:] > key[:-1])):   # adapters already send them so
                key = np.unique(key)
            off_u, idx = np.divmod(key, self.n_inputs)
        else:
            off_u = idx = np.zeros(0, np.int64)
        bounds = np.searchsorted(off_u, np.arange(n_steps + 1)).astype(np.int64)
        return idx.astype(np.int64), bounds, n_steps

    # ------------------------------------------------------------------ decisions, teaching
    def decision(self) -> Decision:
        """Return the class with most readout spikes in the window, its margin and confidence.

        See :func:`decide`: label -1 (:data:`NO_DECISION`) when no readout neuron spiked in
        the window. Ties go to the lowest class index.
        """
        d = decide(self._counts)
        self._last_label = d.label
        return d

    def reset_window(self) -> None:
        """Zero the readout counts of the decision window."""
        self._counts[:] = 0.0
        self._window_n = 0

    @property
    def window_steps(self) -> int:
        """Return the number of steps in the current decision window."""
        return self._window_n

    def teach(self, label: int) -> np.ndarray:
        """Set the margin WTA error for the target ``label`` from the window's counts.

        Returns:
            The error vector now driving plasticity (zero when the margin is met).

        Raises:
            InputError: label out of range.
        """
        if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not (
                0 <= int(label) < self.n_classes):
            raise InputError(f'label must be an int in [0, {self.n_classes}), got {label!r}')
        tc = self.config.teaching
        margin_wta(self._counts, int(label), tc.margin, tc.gain, self._err_buf, tc.balance)
        self._apply_error(self._err_buf)
        return self._err.copy()

    def reward(self, r: float, label: int | None = None) -> np.ndarray:
        """Drive learning by ``(r - running baseline)`` times the one-hot of the last decision.

        Uses the label of the last :meth:`decision`, or when it was -1 (or none was taken)
        the decision of the current window's counts. Without spikes there either, no class
        is credited: the baseline still learns the reward and the error applied is zero.

        Args:
            r: the reward.
            label: credit this class instead (an action the caller chose, e.g. the default
                action of a silent window); None for the rule above.

        Returns:
            The error vector applied.
        """
        r = float(r)
        if not math.isfinite(r):
            raise InputError(f'reward must be finite, got {r!r}')
        if label is not None and not 0 <= int(label) < self.n_classes:
            raise InputError(f'label must be an int in [0, {self.n_classes}), got {label!r}')
        adv = self.baseline.update(r)
        if label is None:
            label = self._last_label if self._last_label >= 0 else decide(self._counts).label
        err = np.zeros(self.n_classes)
        if label >= 0:
            err[label] = adv
        self._apply_error(err)
        return err

    def error(self, vector: Any) -> np.ndarray:
        """Drive learning by an explicit C-dim vector (positive pushes a class up)."""
        err = np.asarray(vector, dtype=np.float64)
        if err.shape != (self.n_classes,):
            raise InputError(f'error must have shape ({self.n_classes},), got {err.shape}')
        if not np.all(np.isfinite(err)):
            raise InputError('error must be finite')
        self._apply_error(err)
        return err.copy()

    def _apply_error(self, err: np.ndarray) -> None:
        self._err[:] = err
        class_gather(self._err, self.class_of, self._m_readout)
        mod = self.config.modulation
        if mod.feedback_code == FeedbackMode.SYMMETRIC:
            self._m_hidden[:] = mod.gain * (self._symmetric_matrix() @ self._err)
        else:
            self.modulation(self._err, self._m_hidden)
        self._mod_pending = True
        if np.any(err != 0.0):
            self._n_mod_events += 1

    def _push_modulation(self, t: int) -> None:
        """Phase 0 of step t: hand the new third factor to every projection."""
        n_h = self.config.layers.n_hidden
        for p in self.projections:
            if p.kind == 'readout':
                p.proj.set_modulation(t, self._m_readout)
            else:
                p.proj.set_modulation(t, self._m_hidden[p.post * n_h:(p.post + 1) * n_h])
        self._mod_pending = False

    def _symmetric_matrix(self) -> np.ndarray:
        n_h = self.config.layers.n_hidden
        b = np.zeros((n_h * self.config.layers.n_layers, self.n_classes))
        self._flush()
        for p in self.projections:
            if p.kind != 'readout':
                continue
            indptr, indices = self._csr(p)
            pre = np.repeat(np.arange(n_h), np.diff(indptr)) + p.pre * n_h
            np.add.at(b, (pre, self.class_of[indices]), p.proj.weights())
        return b

    @staticmethod
    def _csr(p: _Proj) -> tuple[np.ndarray, np.ndarray]:
        return p.indptr, p.indices

    # ------------------------------------------------------------------ live parameters
    def _flush(self) -> None:
        if self._t > 0:
            for p in self.projections:
                p.proj.flush(self._t - 1)

    @property
    def learning(self) -> bool:
        """Return whether weights change."""
        return self.config.plasticity.learning

    @learning.setter
    def learning(self, on: bool) -> None:
        self.update_params({'plasticity.learning': bool(on)})

    @property
    def learning_rate(self) -> float:
        """Return the learning rate of hidden synapses (``plasticity.lr_hidden``)."""
        return self.config.plasticity.lr_hidden

    @learning_rate.setter
    def learning_rate(self, lr: float) -> None:
        self.update_params({'plasticity.lr_hidden': lr})

    def update_params(self, updates: dict[str, Any]) -> NetworkConfig:
        """Apply live-tunable dotted parameters (validated together; read-only ones refused).

        Returns:
            The new config.

        Raises:
            ConfigError: unknown, read-only or invalid value; nothing changes then.
        """
        new = params_mod.apply(self.config, updates, allow_read_only=False)
        self._flush()
        self.config = new
        pl = new.plasticity
        for p in self.projections:
            p.proj.learning = pl.learning
            p.proj.learning_rate = pl.lr_readout if p.kind == 'readout' else pl.lr_hidden
        self._set_neuron_params(new)
        self.modulation.gain = new.modulation.gain
        self.baseline.tau = new.modulation.baseline_tau
        return new

    # ------------------------------------------------------------------ state
    def reset_state(self) -> None:
        """Reset dynamics (membranes, currents, refractoriness, window); keep weights.

        Thresholds, traces and the learned weights stay.
        """
        for g in self.groups:
            g.reset_dynamics()
        self.reset_window()

    def stats(self) -> dict[str, Any]:
        """Return diagnostics since the previous call and reset their counters.

        Keys: ``steps``, ``t``, ``rate_hz`` (list per hidden layer), ``readout_rate_hz``,
        ``threshold_mean`` (per layer, readout last), ``weight_norm`` (per projection),
        ``modulation`` (mean absolute hidden signal, population activity norm, events),
        ``learning``, ``learning_rate``.

        Reading it changes nothing else: ``weight_norm`` is the norm of the stored weights,
        in which a synapse whose presynaptic neuron stayed silent since the third factor last
        changed lags until its next spike (bringing every synapse up to date would split the
        lazy closed-form sums and move later results in the last bits).
        """
        steps = max(self._stat_steps, 1)
        dur = steps * self.config.dt_s
        sizes = [g.v.size for g in self.groups]
        rates = [float(self._stat_spikes[k] / (sizes[k] * dur)) for k in range(len(sizes))]
        out = {
            'steps': int(self._stat_steps), 't': int(self._t),
            'rate_hz': rates[:-1], 'readout_rate_hz': rates[-1],
            'threshold_mean': [float(g.theta.mean()) for g in self.groups],
            'weight_norm': {p.name: float(np.linalg.norm(_stored_weights(p.proj)))
                            for p in self.projections},
            'modulation': {'hidden_abs_mean': float(np.abs(self._m_hidden).mean()),
                           'population_norm': float(np.linalg.norm(self.modulation.activity)),
                           'error_norm': float(np.linalg.norm(self._err)),
                           'events': int(self._n_mod_events)},
            'learning': self.learning, 'learning_rate': self.learning_rate,
        }
        self._stat_spikes[:] = 0
        self._stat_steps = 0
        return out

    def wiring_report(self, n_sources: int = 128) -> dict[str, Any]:
        """Return clustering and path length of the hidden+readout graph and its random twin.

        The graph is undirected over all hidden and readout neurons, with every recurrent,
        feedforward and readout synapse as an edge (input channels excluded). Also reports
        the readout projection's fan-out and rewired fraction per layer.
        """
        n_h = self.config.layers.n_hidden
        n_k = self.config.layers.n_layers
        edges = []
        for p in self.projections:
            if p.pre == INPUT:
                continue
            indptr, indices = self._csr(p)
            pre = np.repeat(np.arange(indptr.size - 1), np.diff(indptr)) + p.pre * n_h
            edges.append((pre, indices + p.post * n_h))
        n = n_h * n_k + self.groups[self.readout_group].v.size
        rep: dict[str, Any] = connectivity.wiring_report(n, edges, n_sources)
        rep['synapses'] = {p.name: int(p.indices.size)
                           for p in self.projections}
        return rep

    def weights(self) -> dict[str, np.ndarray]:
        """Return the current weights of every projection (CSR order), by projection name."""
        self._flush()
        return {p.name: p.proj.weights() for p in self.projections}

    # ------------------------------------------------------------------ checkpoints
    def state_arrays(self) -> dict[str, np.ndarray]:
        """Return every state array by name: what resumes the network bit-identically.

        Side-effect free: the projections' lazy state is stored as it is (not brought up to
        date first), so saving a checkpoint never changes the run that saved it.
        """
        out: dict[str, np.ndarray] = {}
        for k, g in enumerate(self.groups):
            for key in ('v', 'theta', 'ref', 'i_in'):
                out[f'group{k}/{key}'] = getattr(g, key).copy()
        for p in self.projections:
            indptr, indices = self._csr(p)
            out[f'proj/{p.name}/__indptr'] = indptr.copy()
            out[f'proj/{p.name}/__indices'] = indices.copy()
            for key, val in p.proj.state_dict().items():
                out[f'proj/{p.name}/{key}'] = np.asarray(val)
        out['net/counts'] = self._counts.copy()
        out['net/err'] = self._err.copy()
        out['net/m_hidden'] = self._m_hidden.copy()
        out['net/m_readout'] = self._m_readout.copy()
        out['net/mod_activity'] = self.modulation.activity.copy()
        out['net/stat_spikes'] = self._stat_spikes.copy()
        return out

    def save(self, path: str | Path) -> Path:
        """Write an atomic, checksummed ``.npz`` checkpoint; return its path."""
        meta = {'config': self.config.to_dict(), 'seed': self.seed, 't': self._t,
                'window_n': self._window_n, 'last_label': self._last_label,
                'baseline': self.baseline.value, 'stat_steps': self._stat_steps,
                'n_mod_events': self._n_mod_events, 'mod_pending': self._mod_pending,
                'rng_state': json.dumps(self.rng.bit_generator.state)}
        return checkpoint.save_atomic(path, self.state_arrays(), meta)

    @classmethod
    def load(cls, path: str | Path, config: NetworkConfig | None = None, *,
             projection_factory: Callable[..., Any] | None = None) -> Network:
        """Rebuild a network from a checkpoint written by :meth:`save`.

        Args:
            path: the ``.npz`` file.
            config: when given, the stored structure must match it (live parameters may
                differ and are taken from ``config``).

        Raises:
            CheckpointError: truncated, corrupted, wrong version or mismatched file.
        """
        arrays, meta = checkpoint.load_checked(path)
        try:
            stored = NetworkConfig.from_dict(meta['config'])
            seed = int(meta['seed'])
        except (ConfigError, KeyError, TypeError) as err:
            raise CheckpointError(f'{path}: stored config invalid ({err})') from err
        if config is not None:
            flat_s, flat_c = params_mod.flatten(stored), params_mod.flatten(config)
            ro = {s.name for s in params_mod.describe(NetworkConfig) if s.read_only}
            diff = sorted(k for k in ro if flat_s[k] != flat_c[k])
            if diff:
                raise CheckpointError(f'{path}: config mismatch in {diff}')
            stored = config
        net = cls(stored, seed, projection_factory=projection_factory)
        try:
            net._load_arrays(arrays, meta)
        except (KeyError, ValueError, TypeError) as err:
            raise CheckpointError(f'{path}: checkpoint does not match the network '
                                  f'({type(err).__name__}: {err})') from err
        return net

    def _load_arrays(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        expected = self.state_arrays()
        for name, ref in expected.items():
            if name.startswith('proj/'):
                continue
            got = arrays[name]
            if got.shape != ref.shape:
                raise ValueError(f'{name}: shape {got.shape}, expected {ref.shape}')
        for p in self.projections:
            indptr, indices = self._csr(p)
            pre = f'proj/{p.name}/'
            if not (np.array_equal(arrays[pre + '__indptr'], indptr)
                    and np.array_equal(arrays[pre + '__indices'], indices)):
                raise ValueError(f'{p.name}: connectivity differs from this config and seed')
            d = {k[len(pre):]: v for k, v in arrays.items()
                 if k.startswith(pre) and not k[len(pre):].startswith('__')}
            p.proj.load_state_dict(d)
        for k, g in enumerate(self.groups):
            for key in ('v', 'theta', 'ref', 'i_in'):
                getattr(g, key)[:] = arrays[f'group{k}/{key}']
            g.n_spikes = g.n_near = 0
            g.spiked[:] = 0
        self._counts[:] = arrays['net/counts']
        self._err[:] = arrays['net/err']
        self._m_hidden[:] = arrays['net/m_hidden']
        self._m_readout[:] = arrays['net/m_readout']
        self.modulation.activity[:] = arrays['net/mod_activity']
        self._stat_spikes[:] = arrays['net/stat_spikes']
        self._t = int(meta['t'])
        self._window_n = int(meta['window_n'])
        self._last_label = int(meta['last_label'])
        self.baseline.value = float(meta['baseline'])
        self._stat_steps = int(meta['stat_steps'])
        self._n_mod_events = int(meta['n_mod_events'])
        self._mod_pending = bool(meta['mod_pending'])
        self.rng.bit_generator.state = json.loads(meta['rng_state'])
        pl = self.config.plasticity
        for p in self.projections:
            p.proj.learning = pl.learning
            p.proj.learning_rate = pl.lr_readout if p.kind == 'readout' else pl.lr_hidden
