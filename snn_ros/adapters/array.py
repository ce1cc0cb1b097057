"""Generic std_msgs/Float32MultiArray input for low-power edge sensors.

One message is one sample of ``expected_length`` values (any layout whose sizes multiply to
``expected_length`` is accepted; ``data_offset`` is honoured). Encodings: ``delta`` (up ``2i``
and down ``2i + 1`` per value) or ``population`` (``n_neurons`` per value over
``[value_min, value_max]``). ``Float32MultiArray`` has no header, so the sample time is the
``t_ns`` argument of :meth:`ArrayAdapter.process` when given, else the previous sample time +
``sample_period_s`` (starting at 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from snn_ros.adapters.base import SpikeBatch, TimedAdapter
from snn_ros.adapters.encoders import as_finite_array, check_dt_ns, check_time_order, \
    DeltaConfig, MAX_STAMP_NS, NS_PER_S, param, PopulationConfig, SampleEncoder, StepCursor, \
    validate_config
from snn_ros.adapters.errors import AdapterError, OutOfRangeError, ShapeError
from snn_ros.core.errors import ConfigError


@dataclass(frozen=True)
class ArrayConfig:
    """Configuration of :class:`ArrayAdapter`."""

    expected_length: int = param(8, 'values per message', min=1, max=1 << 20)
    encoding: str = param('delta', 'delta or population', choices=('delta', 'population'))
    delta: DeltaConfig = field(default_factory=DeltaConfig,
                               metadata={'description': 'send-on-delta settings'})
    population: PopulationConfig = field(default_factory=PopulationConfig,
                                         metadata={'description': 'place-code settings'})
    value_min: float = param(0.0, 'population range low', min=-1e12, max=1e12)
    value_max: float = param(1.0, 'population range high', min=-1e12, max=1e12)
    sample_period_s: float = param(0.01, 'clock step when process() gets no t_ns', min=0.0,
                                   min_exclusive=True, max=3600.0)
    time_tolerance_s: float = param(0.005, 'accepted backwards jump of the time', min=0.0,
                                    max=3600.0)

    def __post_init__(self) -> None:
        validate_config(self)
        if self.value_max <= self.value_min:
            raise ConfigError('ArrayConfig.value_max must be > value_min')


class ArrayAdapter(TimedAdapter):
    """Encode one Float32MultiArray sample per message.

    ``n_channels`` = ``2 * expected_length`` (delta) or ``expected_length * n_neurons``.
    """

    def __init__(self, config: ArrayConfig, dt_ns: int) -> None:
        super().__init__()
        self.config = config
        self.dt_ns = check_dt_ns(dt_ns)
        n = config.expected_length
        self._encoder = SampleEncoder(config.encoding, config.delta.threshold, config.population,
                                      np.full(n, config.value_min), np.full(n, config.value_max))
        self.n_channels = self._encoder.n_channels
        self._cursor = StepCursor(self.dt_ns)
        self._period_ns = max(1, int(round(config.sample_period_s * NS_PER_S)))
        self._tolerance_ns = int(round(config.time_tolerance_s * NS_PER_S))
        self._last_ns: int | None = None

    def reset(self) -> None:
        """Forget the stream state; keep the counters."""
        self._encoder.reset()
        self._cursor.reset()
        self._last_ns = None

    def read_values(self, msg: Any) -> np.ndarray:
        """Return the sample as float64, after checking layout and length."""
        n = self.config.expected_length
        try:
            offset = int(msg.layout.data_offset)
            if offset < 0:
                raise ShapeError(f'data_offset {offset} < 0')
            dims = list(msg.layout.dim)
            if dims:
                sizes = [int(d.size) for d in dims]
                if any(s < 0 for s in sizes) or int(np.prod(sizes, dtype=object)) != n:
                    raise ShapeError(f'layout sizes {sizes} do not multiply to {n}')
            data = msg.data
            if len(data) != offset + n:
                raise ShapeError(f'data has {len(data)} values, expected {offset} + {n}')
            return as_finite_array(data[offset:], 'data', n)
        except AdapterError:
            raise
        except (AttributeError, TypeError, ValueError, OverflowError, IndexError) as err:
            raise ShapeError(f'malformed Float32MultiArray: {err}') from None

    def _encode(self, msg: Any) -> SpikeBatch:
        x = self.read_values(msg)
        t = self._t_arg
        if t is None:
            t = 0 if self._last_ns is None else self._last_ns + self._period_ns
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) \
                or not 0 <= t < MAX_STAMP_NS:
            raise OutOfRangeError(f't_ns = {t!r} outside [0, 2**62)')
        t = int(t)
        check_time_order(t, self._last_ns, self._tolerance_ns)
        batch = self._cursor.sample_batch(t, self._encoder.encode(x), self.n_channels)
        self._last_ns = t
        return batch
