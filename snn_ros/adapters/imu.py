"""sensor_msgs/Imu (linear acceleration, angular velocity) to spikes by delta or place coding.

Signals, in order: ``ax, ay, az`` (m/s^2) when ``use_linear_acceleration`` and ``gx, gy, gz``
(rad/s) when ``use_angular_velocity``. Delta coding gives an up (``2s``) and a down
(``2s + 1``) channel per signal; population coding gives ``n_neurons`` neurons per signal over
the configured range (values outside are clamped to the edge neurons). A field whose covariance
starts with -1 is absent (sensor_msgs/Imu convention) and encodes no spikes. Each message is one
sample at its header stamp; its spikes land in that network step (or the next free one), or,
with ``hold_steps > 1``, repeat in each of ``hold_steps`` steps from there (the sample held).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from snn_ros.adapters.base import Adapter, SpikeBatch
from snn_ros.adapters.encoders import as_finite_array, check_dt_ns, check_stamp_ns, \
    check_time_order, hold_steps_param, NoiseConfig, noise_field, NoiseSource, NS_PER_S, param, \
    PopulationConfig, SampleEncoder, StepCursor, validate_config
from snn_ros.adapters.errors import AdapterError, ShapeError
from snn_ros.core.errors import ConfigError


@dataclass(frozen=True)
class ImuConfig:
    """Configuration of :class:`ImuAdapter`."""

    encoding: str = param('delta', 'delta or population', choices=('delta', 'population'))
    use_linear_acceleration: bool = param(True, 'encode ax, ay, az', choices=(False, True))
    use_angular_velocity: bool = param(True, 'encode gx, gy, gz', choices=(False, True))
    accel_min_mps2: float = param(-20.0, 'population range low, m/s^2', min=-1e6, max=1e6)
    accel_max_mps2: float = param(20.0, 'population range high, m/s^2', min=-1e6, max=1e6)
    gyro_min_radps: float = param(-10.0, 'population range low, rad/s', min=-1e6, max=1e6)
    gyro_max_radps: float = param(10.0, 'population range high, rad/s', min=-1e6, max=1e6)
    accel_threshold_mps2: float = param(0.2, 'delta level spacing, m/s^2', min=0.0,
                                        min_exclusive=True, max=1e6)
    gyro_threshold_radps: float = param(0.05, 'delta level spacing, rad/s', min=0.0,
                                        min_exclusive=True, max=1e6)
    population: PopulationConfig = field(default_factory=PopulationConfig,
                                         metadata={'description': 'place-code settings'})
    honor_covariance: bool = param(True, 'treat covariance[0] == -1 as field absent',
                                   choices=(False, True))
    time_tolerance_s: float = param(0.005, 'accepted backwards jump of the stamp', min=0.0,
                                    max=3600.0)
    noise: NoiseConfig = noise_field()
    hold_steps: int = hold_steps_param()

    def __post_init__(self) -> None:
        validate_config(self)
        if not (self.use_linear_acceleration or self.use_angular_velocity):
            raise ConfigError('ImuConfig: enable use_linear_acceleration or '
                              'use_angular_velocity')
        if self.accel_max_mps2 <= self.accel_min_mps2:
            raise ConfigError('ImuConfig.accel_max_mps2 must be > accel_min_mps2')
        if self.gyro_max_radps <= self.gyro_min_radps:
            raise ConfigError('ImuConfig.gyro_max_radps must be > gyro_min_radps')


class ImuAdapter(Adapter):
    """Encode sensor_msgs/Imu messages.

    ``n_channels`` = ``2 * n_signals`` (delta) or ``n_signals * population.n_neurons``
    (population), with ``n_signals`` = 3 or 6, plus ``noise.channels``.
    """

    def __init__(self, config: ImuConfig, dt_ns: int) -> None:
        super().__init__()
        self.config = config
        self.dt_ns = check_dt_ns(dt_ns)
        self._fields: list[tuple[str, str]] = []
        lo, hi, thr = [], [], []
        if config.use_linear_acceleration:
            self._fields.append(('linear_acceleration', 'linear_acceleration_covariance'))
            lo += [config.accel_min_mps2] * 3
            hi += [config.accel_max_mps2] * 3
            thr += [config.accel_threshold_mps2] * 3
        if config.use_angular_velocity:
            self._fields.append(('angular_velocity', 'angular_velocity_covariance'))
            lo += [config.gyro_min_radps] * 3
            hi += [config.gyro_max_radps] * 3
            thr += [config.gyro_threshold_radps] * 3
        self.n_signals = len(lo)
        self._encoder = SampleEncoder(config.encoding, np.array(thr), config.population,
                                      np.array(lo), np.array(hi))
        self._noise = NoiseSource(config.noise, self._encoder.n_channels, self.dt_ns)
        self.n_channels = self._encoder.n_channels + config.noise.channels
        self._cursor = StepCursor(self.dt_ns)
        self._tolerance_ns = int(round(config.time_tolerance_s * NS_PER_S))
        self._last_ns: int | None = None

    def reset(self) -> None:
        """Forget the stream state; keep the counters."""
        self._encoder.reset()
        self._cursor.reset()
        self._last_ns = None

    def read_values(self, msg: Any) -> np.ndarray:
        """Return the selected signals as float64 (NaN where a field is marked absent)."""
        parts = []
        try:
            for name, cov_name in self._fields:
                vec = getattr(msg, name)
                xyz = as_finite_array([vec.x, vec.y, vec.z], name)
                if self.config.honor_covariance:
                    cov = getattr(msg, cov_name)
                    if len(cov) > 0 and float(cov[0]) == -1.0:
                        xyz = np.full(3, np.nan)
                parts.append(xyz)
        except AdapterError:
            raise
        except (AttributeError, TypeError, ValueError, OverflowError, IndexError) as err:
            raise ShapeError(f'malformed Imu message: {err}') from None
        return np.concatenate(parts)

    def _encode(self, msg: Any) -> SpikeBatch:
        t = check_stamp_ns(getattr(msg, 'header', None))
        check_time_order(t, self._last_ns, self._tolerance_ns)
        x = self.read_values(msg)
        batch = self._cursor.sample_batch(t, self._encoder.encode(x), self.n_channels,
                                          self.config.hold_steps)
        self._last_ns = t
        return self._noise.add(batch)
