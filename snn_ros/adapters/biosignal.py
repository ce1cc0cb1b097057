"""Streaming multichannel biosignals (ECG, EMG, EEG, PPG) to spikes.

Message choice: chunks arrive as a plain ``std_msgs/Float32MultiArray`` (no project message),
row-major with a two-dimensional layout::

    layout.dim[0]: label 'time' (or ''), size = n samples, stride = n * n_channels (or 0)
    layout.dim[1]: label 'channels' (or ''), size = n_channels, stride = n_channels (or 0)
    layout.data_offset: leading values to skip
    data[data_offset + i * n_channels + c] = sample i of channel c

Sample rate and channel names are not carried in the message: they come from
:class:`BiosignalConfig` (the same YAML the node loads), so a publisher cannot change them
mid-stream. ``Float32MultiArray`` has no header either, so the time of the first sample of a
chunk is, in order of preference: the ``t_ns`` argument of :meth:`BiosignalAdapter.process`
(e.g. the receive time or a bag timestamp), ``msg.header.stamp`` when a message type with a
header is used, or else the continuation of the sample clock (previous chunk's first sample +
n / sample_rate, starting at ``start_time_ns``). Later samples are at ``t_first + i / fs``.

Streaming state (delta reference levels, band-pass filter state, rate phases, the last emitted
network step and the expected next sample time) persists across chunks; a rejected chunk
leaves it untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from snn_ros.adapters.base import SpikeBatch, TimedAdapter
from snn_ros.adapters.encoders import as_finite_array, BandPass, BandPassConfig, \
    check_dt_ns, check_stamp_ns, check_time_order, DeltaConfig, DeltaEncoder, \
    events_to_batch, MAX_STAMP_NS, MAX_STEPS_PER_BATCH, NS_PER_S, param, RateConfig, \
    RateEncoder, sample_times_ns, StepCursor, steps_to_batch, validate_config
from snn_ros.adapters.errors import AdapterError, GeometryError, OutOfRangeError, ShapeError
from snn_ros.core.errors import ConfigError

_TIME_LABELS = ('time', 'times', 'sample', 'samples')
_CHANNEL_LABELS = ('channel', 'channels')


@dataclass(frozen=True)
class BiosignalConfig:
    """Configuration of :class:`BiosignalAdapter`."""

    sample_rate_hz: float = param(360.0, 'samples per second of every channel', min=0.0,
                                  min_exclusive=True, max=1e6)
    channel_names: tuple[str, ...] = field(
        default=('ch0',), metadata={'description': 'channel names, in column order; their '
                                    'count is the expected and maximum channel count'})
    max_samples_per_chunk: int = param(65536, 'largest accepted chunk (samples per channel)',
                                       min=1, max=1 << 24)
    encoding: str = param('delta', 'delta (up/down per channel) or rate',
                          choices=('delta', 'rate'))
    delta: DeltaConfig = field(default_factory=DeltaConfig,
                               metadata={'description': 'send-on-delta settings'})
    thresholds: tuple[float, ...] = param((), 'per-channel delta thresholds (overrides '
                                          'delta.threshold when non-empty)', min=0.0,
                                          min_exclusive=True, max=1e12)
    bandpass: BandPassConfig = field(default_factory=BandPassConfig,
                                     metadata={'description': 'optional band-pass'})
    rate: RateConfig = field(default_factory=RateConfig,
                             metadata={'description': 'rate coding settings'})
    rectify: bool = param(False, 'rate coding of |x| instead of x', choices=(False, True))
    time_tolerance_s: float = param(0.01, 'accepted backwards jump of a chunk start',
                                    min=0.0, max=3600.0)
    start_time_ns: int = param(0, 'clock of the first chunk when no time is given', min=0,
                               max=MAX_STAMP_NS - 1)

    def __post_init__(self) -> None:
        validate_config(self)
        names = self.channel_names
        if not isinstance(names, tuple) or not names or len(names) > 4096 \
                or not all(isinstance(n, str) and n for n in names) \
                or len(set(names)) != len(names):
            raise ConfigError(f'BiosignalConfig.channel_names = {names!r}: 1..4096 unique '
                              'non-empty strings')
        if self.thresholds and len(self.thresholds) != len(names):
            raise ConfigError(f'BiosignalConfig.thresholds has {len(self.thresholds)} values '
                              f'for {len(names)} channels')


class BiosignalAdapter(TimedAdapter):
    """Encode chunks of multichannel samples into spikes aligned to the network step.

    ``n_channels`` is ``2 * len(channel_names)`` for delta coding (up ``2c``, down ``2c + 1``)
    and ``len(channel_names)`` for rate coding.
    """

    def __init__(self, config: BiosignalConfig, dt_ns: int) -> None:
        super().__init__()
        self.config = config
        self.dt_ns = check_dt_ns(dt_ns)
        n_sig = len(config.channel_names)
        span_steps = config.max_samples_per_chunk * NS_PER_S / config.sample_rate_hz / dt_ns
        if span_steps > MAX_STEPS_PER_BATCH:
            raise ConfigError(f'max_samples_per_chunk / sample_rate_hz spans {span_steps:.3g} '
                              f'steps of {dt_ns} ns; at most {MAX_STEPS_PER_BATCH}')
        self.n_signals = n_sig
        self.n_channels = 2 * n_sig if config.encoding == 'delta' else n_sig
        thresholds = np.array(config.thresholds) if config.thresholds \
            else config.delta.threshold
        self._delta = DeltaEncoder(n_sig, thresholds)
        self._rate = RateEncoder(config.rate, n_sig, self.dt_ns)
        self._bandpass = BandPass(config.bandpass, config.sample_rate_hz, n_sig) \
            if config.bandpass.enabled else None
        self._cursor = StepCursor(self.dt_ns)
        self._tolerance_ns = int(round(config.time_tolerance_s * NS_PER_S))
        self._next_sample_ns: int | None = None

    def reset(self) -> None:
        """Forget stream state (reference levels, filter, clock); keep the counters."""
        self._delta.reset()
        self._rate.reset()
        if self._bandpass is not None:
            self._bandpass.reset()
        self._cursor.reset()
        self._next_sample_ns = None

    def read_chunk(self, msg: Any) -> np.ndarray:
        """Return the chunk's samples as float64 ``[n, n_channels]`` after checking the layout.

        Raises:
            ShapeError: wrong layout or data length.
            GeometryError: channel count differs from the configuration, or too many samples.
            NonFiniteError: a NaN or infinite sample.

        """
        try:
            dims = list(msg.layout.dim)
            if len(dims) != 2:
                raise ShapeError(f'layout has {len(dims)} dimensions, expected 2 '
                                 '(time, channels)')
            n, n_ch = int(dims[0].size), int(dims[1].size)
            lab0, lab1 = str(dims[0].label).lower(), str(dims[1].label).lower()
            if lab0 in _CHANNEL_LABELS or lab1 in _TIME_LABELS:
                raise ShapeError(f'layout labels ({lab0!r}, {lab1!r}): dim[0] must be time')
            if n_ch != self.n_signals:
                raise GeometryError(f'{n_ch} channels, configured {self.n_signals} '
                                    f'({", ".join(self.config.channel_names)})')
            if n <= 0:
                raise ShapeError(f'chunk has {n} samples')
            if n > self.config.max_samples_per_chunk:
                raise GeometryError(f'chunk of {n} samples exceeds max_samples_per_chunk '
                                    f'{self.config.max_samples_per_chunk}')
            s0, s1 = int(dims[0].stride), int(dims[1].stride)
            if s0 not in (0, n * n_ch) or s1 not in (0, n_ch):
                raise ShapeError(f'strides ({s0}, {s1}) do not match a dense '
                                 f'[{n}, {n_ch}] row-major layout')
            offset = int(msg.layout.data_offset)
            if offset < 0:
                raise ShapeError(f'data_offset {offset} < 0')
            data = msg.data
            if len(data) != offset + n * n_ch:
                raise ShapeError(f'data has {len(data)} values, layout needs '
                                 f'{offset} + {n} x {n_ch}')
            x = as_finite_array(data[offset:], 'data')
        except AdapterError:
            raise
        except (AttributeError, TypeError, ValueError, OverflowError, IndexError) as err:
            raise ShapeError(f'malformed Float32MultiArray: {err}') from None
        return x.reshape(n, n_ch)

    def _first_sample_ns(self, msg: Any) -> int:
        if self._t_arg is not None:
            t = self._t_arg
            if isinstance(t, bool) or not isinstance(t, (int, np.integer)) \
                    or not 0 <= t < MAX_STAMP_NS:
                raise OutOfRangeError(f't_ns = {t!r} outside [0, 2**62)')
            return int(t)
        if hasattr(msg, 'header'):
            return check_stamp_ns(msg.header)
        if self._next_sample_ns is not None:
            return self._next_sample_ns
        return self.config.start_time_ns

    def _encode(self, msg: Any) -> SpikeBatch:
        x = self.read_chunk(msg)
        t_first = self._first_sample_ns(msg)
        check_time_order(t_first, self._next_sample_ns, self._tolerance_ns)
        n = x.shape[0]
        times = sample_times_ns(t_first, n, self.config.sample_rate_hz)
        if times[-1] >= MAX_STAMP_NS:
            raise OutOfRangeError('chunk ends beyond 2**62 ns')
        y, zf = self._bandpass.filter(x) if self._bandpass is not None else (x, None)
        first_step, n_steps = self._cursor.span(int(times[0]), int(times[-1]))
        if self.config.encoding == 'delta':
            sample, index, state = self._delta.encode(y)
            batch = events_to_batch(times[sample], index, first_step, n_steps, self.dt_ns,
                                    self.n_channels)
            self._delta.commit(state)
        else:
            ends = (first_step + np.arange(1, n_steps + 1, dtype=np.int64)) * self.dt_ns - 1
            which = np.clip(np.searchsorted(times, ends, side='right') - 1, 0, n - 1)
            values = np.abs(y[which]) if self.config.rectify else y[which]
            steps, index = self._rate.encode(values)
            batch = steps_to_batch(steps, index, first_step, n_steps, self.dt_ns,
                                   self.n_channels)
        if zf is not None:
            self._bandpass.commit(zf)
        self._cursor.commit(first_step, n_steps)
        self._next_sample_ns = t_first + int(round(n * NS_PER_S / self.config.sample_rate_hz))
        return batch
