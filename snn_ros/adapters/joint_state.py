"""sensor_msgs/JointState positions and velocities to spikes by population / place coding.

Joints are selected by name (``joint_names``), so messages listing joints in another order, with
extra joints, or without some joints are handled by name. Neuron index of joint ``j`` (position
in ``joint_names``), quantity ``q`` (position then velocity, the enabled ones) and neuron ``k``:
``(j * n_quantities + q) * n_neurons + k``. An empty ``position`` or ``velocity`` array means
"not reported" (as the message definition allows) and encodes nothing for that quantity; a
missing selected joint encodes nothing (``missing='skip'``) or is rejected (``'error'``).
NaN/inf is rejected only in the values of selected joints. Each message is one sample at its
stamp's network step (or the next free one); ``hold_steps > 1`` repeats its spikes in each of
``hold_steps`` steps from there (the sample held, e.g. over a decision window).
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
from typing import Any

import numpy as np

from snn_ros.adapters.base import Adapter, SpikeBatch
from snn_ros.adapters.encoders import check_dt_ns, check_stamp_ns, check_time_order, \
    hold_steps_param, NoiseConfig, noise_field, NoiseSource, NS_PER_S, param, PopulationConfig, \
    PopulationEncoder, StepCursor, validate_config
from snn_ros.adapters.errors import AdapterError, GeometryError, NonFiniteError, ShapeError
from snn_ros.core.errors import ConfigError


@dataclass(frozen=True)
class JointStateConfig:
    """Configuration of :class:`JointStateAdapter`."""

    joint_names: tuple[str, ...] = field(
        default=('joint0',), metadata={'description': 'joints to encode, in neuron order'})
    use_position: bool = param(True, 'encode positions', choices=(False, True))
    use_velocity: bool = param(True, 'encode velocities', choices=(False, True))
    position_min: float = param(-math.pi, 'place-code range low (rad or m)', min=-1e9, max=1e9)
    position_max: float = param(math.pi, 'place-code range high (rad or m)', min=-1e9,
                                max=1e9)
    velocity_min: float = param(-2.0, 'place-code range low (rad/s or m/s)', min=-1e9,
                                max=1e9)
    velocity_max: float = param(2.0, 'place-code range high (rad/s or m/s)', min=-1e9,
                                max=1e9)
    population: PopulationConfig = field(default_factory=PopulationConfig,
                                         metadata={'description': 'place-code settings'})
    missing: str = param('skip', 'a selected joint absent from a message: skip or error',
                         choices=('skip', 'error'))
    max_joints_per_message: int = param(1024, 'longest accepted name list', min=1,
                                        max=1 << 20)
    time_tolerance_s: float = param(0.005, 'accepted backwards jump of the stamp', min=0.0,
                                    max=3600.0)
    noise: NoiseConfig = noise_field()
    hold_steps: int = hold_steps_param()

    def __post_init__(self) -> None:
        validate_config(self)
        names = self.joint_names
        if not isinstance(names, tuple) or not names or len(names) > 4096 \
                or not all(isinstance(n, str) and n for n in names) \
                or len(set(names)) != len(names):
            raise ConfigError(f'JointStateConfig.joint_names = {names!r}: 1..4096 unique '
                              'non-empty strings')
        if not (self.use_position or self.use_velocity):
            raise ConfigError('JointStateConfig: enable use_position or use_velocity')
        if self.position_max <= self.position_min or self.velocity_max <= self.velocity_min:
            raise ConfigError('JointStateConfig: *_max must be > *_min')


class JointStateAdapter(Adapter):
    """Encode sensor_msgs/JointState messages.

    ``n_channels`` = ``len(joint_names) * n_quantities * population.n_neurons`` plus
    ``noise.channels``.
    """

    def __init__(self, config: JointStateConfig, dt_ns: int) -> None:
        super().__init__()
        self.config = config
        self.dt_ns = check_dt_ns(dt_ns)
        self._quantities = [q for q, on in (('position', config.use_position),
                                            ('velocity', config.use_velocity)) if on]
        lo = {'position': config.position_min, 'velocity': config.velocity_min}
        hi = {'position': config.position_max, 'velocity': config.velocity_max}
        n_j, n_q = len(config.joint_names), len(self._quantities)
        self._population = PopulationEncoder(
            config.population, np.array([lo[q] for q in self._quantities] * n_j),
            np.array([hi[q] for q in self._quantities] * n_j))
        n_sensor = n_j * n_q * config.population.n_neurons
        self._noise = NoiseSource(config.noise, n_sensor, self.dt_ns)
        self.n_channels = n_sensor + config.noise.channels
        self._cursor = StepCursor(self.dt_ns)
        self._tolerance_ns = int(round(config.time_tolerance_s * NS_PER_S))
        self._last_ns: int | None = None

    def reset(self) -> None:
        """Forget the stream state; keep the counters."""
        self._cursor.reset()
        self._last_ns = None

    def read_values(self, msg: Any) -> np.ndarray:
        """Return values ``[joint * n_quantities + q]`` in config order (NaN = not reported)."""
        cfg = self.config
        try:
            names = msg.name
            if len(names) > cfg.max_joints_per_message:
                raise GeometryError(f'{len(names)} joints, max_joints_per_message '
                                    f'{cfg.max_joints_per_message}')
            names = [str(n) for n in names]
            if len(set(names)) != len(names):
                raise ShapeError('duplicate joint names')
            where = {n: i for i, n in enumerate(names)}
            n_q = len(self._quantities)
            out = np.full(len(cfg.joint_names) * n_q, np.nan)
            for q, quantity in enumerate(self._quantities):
                values = getattr(msg, quantity)
                if len(values) == 0:
                    continue
                if len(values) != len(names):
                    raise ShapeError(f'{quantity} has {len(values)} values for '
                                     f'{len(names)} names')
                for j, joint in enumerate(cfg.joint_names):
                    i = where.get(joint)
                    if i is None:
                        continue
                    v = float(values[i])
                    if not math.isfinite(v):
                        raise NonFiniteError(f'{quantity} of {joint!r} is {v}')
                    out[j * n_q + q] = v
            if cfg.missing == 'error':
                absent = [n for n in cfg.joint_names if n not in where]
                if absent:
                    raise ShapeError(f'joints missing from the message: {absent}')
        except AdapterError:
            raise
        except (AttributeError, TypeError, ValueError, OverflowError, IndexError) as err:
            raise ShapeError(f'malformed JointState message: {err}') from None
        return out

    def _encode(self, msg: Any) -> SpikeBatch:
        t = check_stamp_ns(getattr(msg, 'header', None))
        check_time_order(t, self._last_ns, self._tolerance_ns)
        x = self.read_values(msg)
        batch = self._cursor.sample_batch(t, self._population.encode(x), self.n_channels,
                                          self.config.hold_steps)
        self._last_ns = t
        return self._noise.add(batch)
