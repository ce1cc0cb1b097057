"""ROS-free spike encoders shared by the adapters, with validated config dataclasses.

Four encoder families, each a numba kernel with a plain-Python reference (``*_reference``):

- **delta / level-crossing** (send-on-delta): per signal a reference level; when a sample moves
  at least ``threshold`` away from it, one spike on the signal's *up* (index ``2c``) or *down*
  (``2c + 1``) channel, and the reference moves by the whole number of thresholds crossed.
- **rate** coding: a value in ``[value_min, value_max]`` sets a spike probability per network
  step (Bernoulli, with an explicit seeded ``np.random.Generator``) or a phase accumulator
  (deterministic, regular spikes).
- **population / place** coding: ``n_neurons`` Gaussian tuning curves with centres evenly spread
  over ``[value_min, value_max]``; neurons whose activation reaches ``threshold`` spike.
- **band-pass** pre-filter: a Butterworth ``sos`` filter (scipy ``sosfilt``) whose state persists
  across chunks.

Time: samples carry int64 ns stamps; network step ``k`` covers ``[k * dt_ns, (k + 1) * dt_ns)``
of the stream clock. :class:`StepCursor` makes consecutive batches of one stream tile the step
axis without overlap (a spike whose step was already emitted moves to the next free step), and
:func:`events_to_batch` merges duplicates so a channel spikes at most once per step.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, MISSING
import math
from typing import Any

import numpy as np
from scipy import signal

from snn_ros.adapters.base import SpikeBatch, stamp_ns
from snn_ros.adapters.errors import NonFiniteError, OutOfRangeError, \
    ShapeError, TimeBackwardsError
from snn_ros.core._numba import njit
from snn_ros.core.errors import ConfigError

NS_PER_S = 1_000_000_000
MAX_STAMP_NS = 2 ** 62
MAX_STEPS_PER_BATCH = 10_000_000


def param(default: Any, description: str, **limits: Any) -> Any:
    """Return a dataclass field whose metadata carries description and limits.

    ``limits`` may hold ``min``, ``max``, ``min_exclusive`` (bool) and ``choices``.
    """
    metadata = {'description': description}
    metadata.update(limits)
    return field(default=default, metadata=metadata)


def validate_config(cfg: Any) -> None:
    """Check every field of a config dataclass against its metadata.

    Raises:
        ConfigError: naming the field and its valid range or choices.

    """
    name = type(cfg).__name__
    for f in fields(cfg):
        md = f.metadata
        value = getattr(cfg, f.name)
        if 'choices' in md:
            if value not in md['choices']:
                raise ConfigError(
                    f'{name}.{f.name} = {value!r}: valid choices are {list(md["choices"])}')
            continue
        if 'min' not in md and 'max' not in md:
            continue
        values = value if isinstance(value, tuple) else (value,)
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ConfigError(f'{name}.{f.name} = {value!r}: must be a finite number')
            if isinstance(f.default, int) and not isinstance(f.default, bool) \
                    and not isinstance(v, int):
                raise ConfigError(f'{name}.{f.name} = {value!r}: must be an integer')
            lo, hi = md.get('min'), md.get('max')
            if lo is not None and (v < lo or (md.get('min_exclusive') and v == lo)):
                op = '>' if md.get('min_exclusive') else '>='
                raise ConfigError(f'{name}.{f.name} = {value!r}: must be {op} {lo}')
            if hi is not None and v > hi:
                raise ConfigError(f'{name}.{f.name} = {value!r}: must be <= {hi}')


def config_from_dict(cls: Any, values: dict[str, Any] | None) -> Any:
    """Build config dataclass ``cls`` from a (YAML) mapping; nested groups become dataclasses.

    Lists become tuples; a dotted key ``'delta.threshold'`` is the same as ``{'delta':
    {'threshold': ...}}``.

    Raises:
        ConfigError: an unknown key (listing the valid ones) or an invalid value.

    """
    values = dict(values or {})
    nested: dict[str, dict[str, Any]] = {}
    for key in [k for k in values if '.' in k]:
        head, rest = key.split('.', 1)
        nested.setdefault(head, {})[rest] = values.pop(key)
    known = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in list(values.items()) + [(k, None) for k in nested if k not in values]:
        if key not in known:
            raise ConfigError(f'{cls.__name__}: unknown parameter {key!r}; valid are '
                              f'{sorted(known)}')
        default = known[key].default_factory \
            if known[key].default_factory is not MISSING else None
        if default is not None and hasattr(default, '__dataclass_fields__'):
            sub = dict(value or {}) if isinstance(value, dict) or value is None else None
            if sub is None:
                raise ConfigError(f'{cls.__name__}.{key} must be a mapping')
            sub.update(nested.get(key, {}))
            kwargs[key] = config_from_dict(default, sub)
        else:
            kwargs[key] = tuple(value) if isinstance(value, list) else value
    return cls(**kwargs)


def check_dt_ns(dt_ns: Any) -> int:
    """Return ``dt_ns`` as int after checking it is a positive integer number of ns."""
    if isinstance(dt_ns, bool) or not isinstance(dt_ns, (int, np.integer)) or dt_ns <= 0 \
            or dt_ns > NS_PER_S * 3600:
        raise ConfigError(f'dt_ns = {dt_ns!r}: must be an integer in [1, 3.6e12] ns')
    return int(dt_ns)


def check_stamp_ns(header: Any) -> int:
    """Return a header stamp in ns; reject negative, absurdly large or malformed stamps."""
    try:
        t = stamp_ns(header)
        nanosec = int(header.stamp.nanosec)
    except (AttributeError, TypeError, ValueError, OverflowError) as err:
        raise ShapeError(f'header stamp unreadable: {err}') from None
    if not 0 <= nanosec < NS_PER_S:
        raise OutOfRangeError(f'header stamp nanosec {nanosec} outside [0, 1e9)')
    if not 0 <= t < MAX_STAMP_NS:
        raise OutOfRangeError(f'header stamp {t} ns outside [0, 2**62)')
    return t


def check_time_order(t_ns: int, last_ns: int | None, tolerance_ns: int) -> None:
    """Raise TimeBackwardsError if ``t_ns`` is before ``last_ns`` by more than the tolerance."""
    if last_ns is not None and t_ns < last_ns - tolerance_ns:
        raise TimeBackwardsError(
            f'stamp {t_ns} ns is {last_ns - t_ns} ns before the previous one '
            f'(tolerance {tolerance_ns} ns)')


def as_finite_array(data: Any, what: str, expected: int | None = None) -> np.ndarray:
    """Return ``data`` as a float64 vector, or raise ShapeError / NonFiniteError."""
    try:
        n = len(data)
    except TypeError:
        raise ShapeError(f'{what}: not a sequence') from None
    if expected is not None and n != expected:
        raise ShapeError(f'{what}: length {n}, expected {expected}')
    try:
        arr = np.asarray(data, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError, OverflowError) as err:
        raise ShapeError(f'{what}: not numeric ({err})') from None
    if arr.size != n:
        raise ShapeError(f'{what}: not a flat sequence of numbers')
    if not np.all(np.isfinite(arr)):
        raise NonFiniteError(f'{what}: {int(np.sum(~np.isfinite(arr)))} NaN or inf values')
    return arr


# --------------------------------------------------------------------------------------------
# Step alignment


class StepCursor:
    """Place batches of one stream on the step axis so they tile without overlap.

    ``span`` proposes the steps for samples between ``first_ns`` and ``last_ns``; ``commit``
    records them once the message is accepted (so a rejected message leaves no trace).
    """

    def __init__(self, dt_ns: int) -> None:
        self.dt_ns = check_dt_ns(dt_ns)
        self.next_step: int | None = None

    def span(self, first_ns: int, last_ns: int, min_steps: int = 1) -> tuple[int, int]:
        """Return ``(first_step, n_steps)`` covering the samples, after already emitted steps.

        At least ``min_steps`` steps are returned (a window that keeps its length when it is
        pushed later by already emitted steps).
        """
        s0, s1 = first_ns // self.dt_ns, last_ns // self.dt_ns
        if self.next_step is not None:
            s0 = max(s0, self.next_step)
        s1 = max(s1, s0 + min_steps - 1)
        return s0, s1 - s0 + 1

    def commit(self, first_step: int, n_steps: int) -> None:
        """Mark steps up to ``first_step + n_steps - 1`` as emitted."""
        self.next_step = first_step + n_steps

    def reset(self) -> None:
        """Forget the emitted steps."""
        self.next_step = None

    def sample_batch(self, t_ns: int, indices: np.ndarray, population_size: int,
                     hold_steps: int = 1) -> SpikeBatch:
        """Return the batch of one sample at ``t_ns`` in which ``indices`` spike; commit it.

        ``hold_steps > 1`` holds the sample: ``indices`` spike in every step from the stamp's
        step to ``hold_steps - 1`` steps later, less the steps already emitted (at least one),
        so a stream sampled faster than the hold keeps pace with its stamps.
        """
        if hold_steps > 1:
            first_step, n_steps = self.span(t_ns, t_ns + (hold_steps - 1) * self.dt_ns)
            offsets = np.repeat(np.arange(n_steps, dtype=np.int64), indices.size)
            batch = steps_to_batch(offsets, np.tile(indices, n_steps), first_step, n_steps,
                                   self.dt_ns, population_size)
        else:
            first_step, n_steps = self.span(t_ns, t_ns)
            batch = events_to_batch(np.full(indices.size, t_ns, np.int64), indices, first_step,
                                    n_steps, self.dt_ns, population_size)
        self.commit(first_step, n_steps)
        return batch


def events_to_batch(t_ns: np.ndarray, indices: np.ndarray, first_step: int, n_steps: int,
                    dt_ns: int, population_size: int) -> SpikeBatch:
    """Bin events (time, index) into a SpikeBatch of ``n_steps`` steps from ``first_step``.

    Events before the first step go to step 0 and after the last to the last step; duplicate
    (step, index) pairs are merged, so every channel spikes at most once per step.
    """
    t0_ns = first_step * dt_ns
    if indices.size == 0:
        return SpikeBatch.empty(t0_ns, dt_ns, population_size, n_steps)
    offsets = np.asarray(t_ns, np.int64) // dt_ns - first_step
    np.clip(offsets, 0, n_steps - 1, out=offsets)
    return steps_to_batch(offsets, indices, first_step, n_steps, dt_ns, population_size)


def steps_to_batch(offsets: np.ndarray, indices: np.ndarray, first_step: int, n_steps: int,
                   dt_ns: int, population_size: int) -> SpikeBatch:
    """Build a SpikeBatch from step offsets and indices, sorted by step and merged."""
    t0_ns = first_step * dt_ns
    if indices.size == 0:
        return SpikeBatch.empty(t0_ns, dt_ns, population_size, n_steps)
    key = np.unique(np.asarray(offsets, np.int64) * population_size
                    + np.asarray(indices, np.int64))
    return SpikeBatch((key % population_size).astype(np.uint32),
                      (key // population_size).astype(np.uint32),
                      n_steps, t0_ns, dt_ns, population_size)


def sample_times_ns(t_first_ns: int, n: int, sample_rate_hz: float) -> np.ndarray:
    """Return int64 stamps of ``n`` samples starting at ``t_first_ns`` at ``sample_rate_hz``."""
    return t_first_ns + np.round(np.arange(n) * (NS_PER_S / sample_rate_hz)).astype(np.int64)


# --------------------------------------------------------------------------------------------
# Delta / level-crossing


@dataclass(frozen=True)
class DeltaConfig:
    """Send-on-delta encoder: one up/down channel pair per signal."""

    threshold: float = param(0.05, 'level spacing, in the unit of the signal', min=0.0,
                             min_exclusive=True, max=1e12)

    def __post_init__(self) -> None:
        validate_config(self)


@njit
def _delta_kernel(x, ref, init, thr, out_sample, out_index):
    """Send-on-delta: k = floor(|x - ref| / thr); if k >= 1, spike and ref += sign * k * thr.

    Samples are ``x[i, c]``; a channel's first finite sample only sets its reference; NaN
    samples are skipped (signal absent). Up spikes are index ``2c``, down ``2c + 1``.
    Mutates ``ref``, ``init``, ``out_sample`` and ``out_index``; returns the spike count.
    """
    n, n_ch = x.shape
    count = 0
    for i in range(n):
        for c in range(n_ch):
            v = x[i, c]
            if np.isnan(v):
                continue
            if not init[c]:
                ref[c] = v
                init[c] = True
                continue
            d = v - ref[c]
            if d >= thr[c]:
                move = np.floor(d / thr[c]) * thr[c]
                ref[c] = ref[c] + move if np.isfinite(move) else v
                out_sample[count] = i
                out_index[count] = 2 * c
                count += 1
            elif d <= -thr[c]:
                move = np.floor(-d / thr[c]) * thr[c]
                ref[c] = ref[c] - move if np.isfinite(move) else v
                out_sample[count] = i
                out_index[count] = 2 * c + 1
                count += 1
    return count


def delta_reference(x: np.ndarray, ref: np.ndarray, init: np.ndarray,
                    thr: np.ndarray) -> tuple[list[int], list[int]]:
    """Plain-Python reference of the delta kernel; mutates ``ref`` and ``init``."""
    samples, idx = [], []
    for i in range(x.shape[0]):
        for c in range(x.shape[1]):
            v = float(x[i, c])
            if math.isnan(v):
                continue
            if not init[c]:
                ref[c], init[c] = v, True
                continue
            d = v - ref[c]
            if d >= thr[c]:
                move = math.floor(d / thr[c]) * thr[c]
                ref[c] = ref[c] + move if math.isfinite(move) else v
                samples.append(i)
                idx.append(2 * c)
            elif d <= -thr[c]:
                move = math.floor(-d / thr[c]) * thr[c]
                ref[c] = ref[c] - move if math.isfinite(move) else v
                samples.append(i)
                idx.append(2 * c + 1)
    return samples, idx


class DeltaEncoder:
    """Streaming send-on-delta encoder over ``n_signals`` signals (``2 * n_signals`` channels).

    ``encode`` works on copies and returns the new state; ``commit`` installs it, so callers
    can reject a message after encoding without touching the stream state.
    """

    def __init__(self, n_signals: int, thresholds: np.ndarray | float) -> None:
        self.n_signals = int(n_signals)
        self.thresholds = np.broadcast_to(np.asarray(thresholds, np.float64),
                                          (self.n_signals,)).copy()
        if not np.all(self.thresholds > 0) or not np.all(np.isfinite(self.thresholds)):
            raise ConfigError('delta thresholds must be finite and > 0')
        self.reference = np.zeros(self.n_signals)
        self.initialized = np.zeros(self.n_signals, np.bool_)

    @property
    def n_channels(self) -> int:
        """Return the number of output channels (up and down per signal)."""
        return 2 * self.n_signals

    def encode(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple]:
        """Encode samples ``x[n, n_signals]`` (NaN = absent).

        Returns:
            ``(sample_index, channel_index, state)``; pass ``state`` to :meth:`commit`.

        """
        x = np.ascontiguousarray(x, np.float64).reshape(-1, self.n_signals)
        ref, init = self.reference.copy(), self.initialized.copy()
        out_sample = np.empty(x.size, np.int64)
        out_index = np.empty(x.size, np.int64)
        count = _delta_kernel(x, ref, init, self.thresholds, out_sample, out_index)
        return out_sample[:count], out_index[:count], (ref, init)

    def commit(self, state: tuple) -> None:
        """Install the state returned by :meth:`encode`."""
        self.reference, self.initialized = state

    def reset(self) -> None:
        """Forget the reference levels."""
        self.reference[:] = 0.0
        self.initialized[:] = False


# --------------------------------------------------------------------------------------------
# Band-pass


@dataclass(frozen=True)
class BandPassConfig:
    """Butterworth band-pass (or low/high-pass when one edge is 0) before encoding."""

    low_hz: float = param(0.0, 'lower cut-off (0 = no high-pass)', min=0.0, max=1e9)
    high_hz: float = param(0.0, 'upper cut-off (0 = no low-pass)', min=0.0, max=1e9)
    order: int = param(2, 'Butterworth order per edge', min=1, max=8)

    def __post_init__(self) -> None:
        validate_config(self)
        if self.low_hz and self.high_hz and self.low_hz >= self.high_hz:
            raise ConfigError(f'BandPassConfig.low_hz = {self.low_hz} must be < high_hz '
                              f'= {self.high_hz}')

    @property
    def enabled(self) -> bool:
        """Return True when at least one cut-off is set."""
        return bool(self.low_hz or self.high_hz)


class BandPass:
    """Streaming ``sosfilt`` over ``n_signals`` columns; filter state persists across chunks."""

    def __init__(self, cfg: BandPassConfig, sample_rate_hz: float, n_signals: int) -> None:
        nyquist = sample_rate_hz / 2.0
        for name in ('low_hz', 'high_hz'):
            if getattr(cfg, name) >= nyquist:
                raise ConfigError(f'BandPassConfig.{name} = {getattr(cfg, name)} must be below '
                                  f'the Nyquist frequency {nyquist} Hz')
        if cfg.low_hz and cfg.high_hz:
            self.sos = signal.butter(cfg.order, [cfg.low_hz, cfg.high_hz], btype='bandpass',
                                     fs=sample_rate_hz, output='sos')
        elif cfg.low_hz:
            self.sos = signal.butter(cfg.order, cfg.low_hz, btype='highpass',
                                     fs=sample_rate_hz, output='sos')
        else:
            self.sos = signal.butter(cfg.order, cfg.high_hz, btype='lowpass',
                                     fs=sample_rate_hz, output='sos')
        self.n_signals = n_signals
        self.zi: np.ndarray | None = None

    def filter(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Filter ``x[n, n_signals]``; return ``(y, new_state)`` without changing the state."""
        zi = self.zi
        if zi is None:
            zi = signal.sosfilt_zi(self.sos)[:, :, None] * x[0][None, None, :]
        y, zf = signal.sosfilt(self.sos, x, axis=0, zi=zi)
        return y, zf

    def commit(self, zf: np.ndarray) -> None:
        """Install the filter state returned by :meth:`filter`."""
        self.zi = zf

    def reset(self) -> None:
        """Forget the filter state (the next chunk starts in steady state)."""
        self.zi = None


# --------------------------------------------------------------------------------------------
# Rate coding


@dataclass(frozen=True)
class RateConfig:
    """Rate coding: value in [value_min, value_max] -> rate in [0, max_rate_hz]."""

    value_min: float = param(0.0, 'value mapped to rate 0', min=-1e12, max=1e12)
    value_max: float = param(1.0, 'value mapped to max_rate_hz', min=-1e12, max=1e12)
    max_rate_hz: float = param(100.0, 'rate at value_max', min=0.0, max=1e9)
    mode: str = param('bernoulli', 'bernoulli (seeded random) or regular (deterministic)',
                      choices=('bernoulli', 'regular'))
    seed: int = param(0, 'seed of the Bernoulli generator', min=0, max=2 ** 63 - 1)

    def __post_init__(self) -> None:
        validate_config(self)
        if self.value_max <= self.value_min:
            raise ConfigError(f'RateConfig.value_max = {self.value_max} must be > value_min '
                              f'= {self.value_min}')


@njit
def _bernoulli_kernel(p, u, out_step, out_index):
    """Bernoulli spikes: s[k, c] = u[k, c] < p[k, c].

    Mutates ``out_step`` and ``out_index``; returns the spike count.
    """
    n, n_ch = p.shape
    count = 0
    for k in range(n):
        for c in range(n_ch):
            if u[k, c] < p[k, c]:
                out_step[count] = k
                out_index[count] = c
                count += 1
    return count


@njit
def _regular_kernel(p, phase, out_step, out_index):
    """Phase accumulator: phase_c += p[k, c]; if phase_c >= 1: spike, phase_c -= 1.

    Mutates ``phase``, ``out_step`` and ``out_index``; returns the spike count.
    """
    n, n_ch = p.shape
    count = 0
    for k in range(n):
        for c in range(n_ch):
            phase[c] += p[k, c]
            if phase[c] >= 1.0:
                phase[c] -= 1.0
                out_step[count] = k
                out_index[count] = c
                count += 1
    return count


def bernoulli_reference(p: np.ndarray, u: np.ndarray) -> tuple[list[int], list[int]]:
    """Plain-Python reference of the Bernoulli kernel."""
    steps, idx = [], []
    for k in range(p.shape[0]):
        for c in range(p.shape[1]):
            if u[k, c] < p[k, c]:
                steps.append(k)
                idx.append(c)
    return steps, idx


def regular_reference(p: np.ndarray, phase: np.ndarray) -> tuple[list[int], list[int]]:
    """Plain-Python reference of the phase-accumulator kernel; mutates ``phase``."""
    steps, idx = [], []
    for k in range(p.shape[0]):
        for c in range(p.shape[1]):
            phase[c] += p[k, c]
            if phase[c] >= 1.0:
                phase[c] -= 1.0
                steps.append(k)
                idx.append(c)
    return steps, idx


class RateEncoder:
    """Rate coder over ``n_signals`` channels with an explicit seeded Generator."""

    def __init__(self, cfg: RateConfig, n_signals: int, dt_ns: int,
                 rng: np.random.Generator | None = None) -> None:
        self.cfg = cfg
        self.n_signals = int(n_signals)
        self.dt_s = check_dt_ns(dt_ns) / NS_PER_S
        self.rng = rng if rng is not None else np.random.default_rng(cfg.seed)
        self.phase = np.zeros(self.n_signals)

    def probabilities(self, values: np.ndarray) -> np.ndarray:
        """Map values ``[n_steps, n_signals]`` to spike probabilities per step in [0, 1]."""
        span = self.cfg.value_max - self.cfg.value_min
        frac = np.clip((np.asarray(values, np.float64) - self.cfg.value_min) / span, 0.0, 1.0)
        return np.minimum(frac * (self.cfg.max_rate_hz * self.dt_s), 1.0)

    def encode(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(step, channel)`` of the spikes for values held over ``n_steps`` steps."""
        p = np.ascontiguousarray(self.probabilities(values)).reshape(-1, self.n_signals)
        out_step = np.empty(p.size, np.int64)
        out_index = np.empty(p.size, np.int64)
        if self.cfg.mode == 'bernoulli':
            u = self.rng.random(p.shape)
            count = _bernoulli_kernel(p, u, out_step, out_index)
        else:
            count = _regular_kernel(p, self.phase, out_step, out_index)
        return out_step[:count], out_index[:count]

    def reset(self) -> None:
        """Reset the phase accumulators (the generator keeps its position)."""
        self.phase[:] = 0.0


# --------------------------------------------------------------------------------------------
# Population / place coding


@dataclass(frozen=True)
class PopulationConfig:
    """Gaussian tuning curves: ``n_neurons`` centres evenly over the value range."""

    n_neurons: int = param(8, 'neurons per encoded value', min=2, max=4096)
    sigma_fraction: float = param(1.0, 'tuning width in units of the centre spacing',
                                  min=0.0, min_exclusive=True, max=1e3)
    threshold: float = param(0.5, 'activation at which a neuron spikes', min=0.0,
                             min_exclusive=True, max=1.0)

    def __post_init__(self) -> None:
        validate_config(self)


@njit
def _population_kernel(x, lo, hi, n_neurons, sigma_fraction, threshold, out_index):
    """Place code: a_cj = exp(-(clip(x_c) - mu_j)^2 / (2 sigma_c^2)); spike c*N + j if a >= thr.

    ``mu_j = lo_c + j * (hi_c - lo_c) / (N - 1)``, ``sigma_c = sigma_fraction * spacing_c``;
    NaN values (absent) give no spikes. Mutates ``out_index``; returns the spike count.
    """
    count = 0
    for c in range(x.shape[0]):
        v = x[c]
        if np.isnan(v):
            continue
        v = min(max(v, lo[c]), hi[c])
        spacing = (hi[c] - lo[c]) / (n_neurons - 1)
        sigma = sigma_fraction * spacing
        for j in range(n_neurons):
            z = (v - (lo[c] + j * spacing)) / sigma
            if np.exp(-0.5 * z * z) >= threshold:
                out_index[count] = c * n_neurons + j
                count += 1
    return count


def population_reference(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, n_neurons: int,
                         sigma_fraction: float, threshold: float) -> list[int]:
    """Plain-Python reference of the population kernel."""
    out = []
    for c in range(len(x)):
        v = float(x[c])
        if math.isnan(v):
            continue
        v = min(max(v, lo[c]), hi[c])
        spacing = (hi[c] - lo[c]) / (n_neurons - 1)
        sigma = sigma_fraction * spacing
        for j in range(n_neurons):
            z = (v - (lo[c] + j * spacing)) / sigma
            if math.exp(-0.5 * z * z) >= threshold:
                out.append(c * n_neurons + j)
    return out


class PopulationEncoder:
    """Place coder for ``n_signals`` values, each with its own range."""

    def __init__(self, cfg: PopulationConfig, lo: np.ndarray, hi: np.ndarray) -> None:
        self.cfg = cfg
        self.lo = np.ascontiguousarray(lo, np.float64).reshape(-1)
        self.hi = np.ascontiguousarray(hi, np.float64).reshape(-1)
        if self.lo.shape != self.hi.shape or not np.all(self.hi > self.lo) \
                or not np.all(np.isfinite(self.lo)) or not np.all(np.isfinite(self.hi)):
            raise ConfigError('population ranges must be finite with max > min')
        self.n_signals = self.lo.size
        self.encode(self.lo)  # compile (or load) the kernel now, not at the first message

    @property
    def n_channels(self) -> int:
        """Return ``n_signals * n_neurons``."""
        return self.n_signals * self.cfg.n_neurons

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Return the indices of the neurons that spike for values ``x`` (NaN = absent)."""
        x = np.ascontiguousarray(x, np.float64).reshape(-1)
        out = np.empty(self.n_channels, np.int64)
        count = _population_kernel(x, self.lo, self.hi, self.cfg.n_neurons,
                                   self.cfg.sigma_fraction, self.cfg.threshold, out)
        return out[:count]

    def activation(self, x: np.ndarray) -> np.ndarray:
        """Return the tuning-curve activations ``[n_signals, n_neurons]`` (for inspection)."""
        x = np.clip(np.asarray(x, np.float64).reshape(-1), self.lo, self.hi)
        spacing = (self.hi - self.lo) / (self.cfg.n_neurons - 1)
        mu = self.lo[:, None] + np.arange(self.cfg.n_neurons)[None, :] * spacing[:, None]
        z = (x[:, None] - mu) / (self.cfg.sigma_fraction * spacing[:, None])
        return np.exp(-0.5 * z * z)


class SampleEncoder:
    """Delta or population coding of one sample per message (the adapters' ``encoding``).

    ``delta``: send-on-delta over the samples of a stream (``2 * n`` channels, stateful);
    ``population``: Gaussian receptive fields of each value (``n * n_neurons`` channels).
    """

    def __init__(self, encoding: str, thresholds: np.ndarray | float, cfg: PopulationConfig,
                 lo: np.ndarray, hi: np.ndarray) -> None:
        self.encoding = encoding
        self.delta = DeltaEncoder(len(lo), thresholds)
        self.population = PopulationEncoder(cfg, lo, hi)
        self.n_channels = self.delta.n_channels if encoding == 'delta' \
            else self.population.n_channels

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Return the channels that spike for sample ``x``; delta coding commits its state."""
        if self.encoding == 'delta':
            _, index, state = self.delta.encode(x[None, :])
            self.delta.commit(state)
            return index
        return self.population.encode(x)

    def reset(self) -> None:
        """Forget the delta reference levels."""
        self.delta.reset()


# --------------------------------------------------------------------------------------------
# Background noise channels (exploration for reward learning)


@dataclass(frozen=True)
class NoiseConfig:
    """Poisson background spikes on extra channels after an adapter's sensor channels."""

    channels: int = param(0, 'noise channels appended after the sensor channels (0 = none); '
                          'exploration for learning from reward', min=0, max=65536)
    rate_hz: float = param(50.0, 'spike rate of each noise channel', min=0.0, max=1e6)
    seed: int = param(0, 'seed of the noise generator (the same messages give the same '
                      'spikes)', min=0, max=(1 << 31) - 1)

    def __post_init__(self) -> None:
        validate_config(self)


def noise_field() -> Any:
    """Return the ``noise`` field of a population adapter's config (a :class:`NoiseConfig`)."""
    return field(default_factory=NoiseConfig,
                 metadata={'description': 'background noise channels after the sensor channels'})


def hold_steps_param() -> Any:
    """Return the ``hold_steps`` field of a sampled-sensor adapter's config."""
    return param(1, 'steps one sample spikes for: its spikes repeat in each step from the stamp '
                 'to hold_steps - 1 steps later, less the steps a previous sample still holds '
                 '(1: once, at the stamp)', min=1, max=100000)


class NoiseSource:
    """Add independent Bernoulli spikes (``rate_hz * dt``) on ``cfg.channels`` channels.

    Channel ``first_channel + c`` spikes at each step of a batch with probability
    ``rate_hz * dt``; the generator advances with every batch (not with :meth:`reset`).
    """

    def __init__(self, cfg: NoiseConfig, first_channel: int, dt_ns: int) -> None:
        self.cfg = cfg
        self.first_channel = int(first_channel)
        self.p = min(1.0, cfg.rate_hz * check_dt_ns(dt_ns) / NS_PER_S)
        self.rng = np.random.default_rng(cfg.seed)

    def add(self, batch: SpikeBatch) -> SpikeBatch:
        """Return ``batch`` with noise spikes over its steps (unchanged without channels)."""
        if self.cfg.channels == 0 or batch.n_steps == 0:
            return batch
        step, chan = np.nonzero(self.rng.random((batch.n_steps, self.cfg.channels)) < self.p)
        offsets = np.concatenate([batch.step_offsets.astype(np.int64), step])
        indices = np.concatenate([batch.indices.astype(np.int64), chan + self.first_channel])
        return steps_to_batch(offsets, indices, batch.t0_ns // batch.dt_ns, batch.n_steps,
                              batch.dt_ns, batch.population_size)
