"""sensor_msgs/LaserScan to spikes: one neuron per angular sector, nearer = more spikes.

Ray ``i`` has angle ``angle_min + i * angle_increment``; rays inside the configured window
``[sector_angle_min_rad, sector_angle_max_rad)`` fall into ``n_sectors`` equal sectors, and
each sector takes its nearest valid range ``r``. Proximity ``p = clip((far_m - r) / (far_m -
near_m), 0, 1)`` becomes ``round(p * window_steps)`` spikes spread evenly over ``window_steps``
steps from the scan stamp (deterministic, at most one per step).

Special values follow REP 117: ``+inf`` = no return within range (nothing there, no spikes),
``-inf`` = object too close to measure (proximity 1), ``NaN`` = invalid measurement (ignored and
counted in ``invalid_ranges``). Finite readings below ``range_min`` are invalid too (counted);
finite readings above ``range_max`` are treated like ``+inf``.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Any

import numpy as np

from snn_ros.adapters.base import Adapter, SpikeBatch
from snn_ros.adapters.encoders import check_dt_ns, check_stamp_ns, check_time_order, \
    NoiseConfig, noise_field, NoiseSource, NS_PER_S, param, StepCursor, steps_to_batch, \
    validate_config
from snn_ros.adapters.errors import AdapterError, GeometryError, NonFiniteError, \
    OutOfRangeError, ShapeError
from snn_ros.core.errors import ConfigError


@dataclass(frozen=True)
class LaserScanConfig:
    """Configuration of :class:`LaserScanAdapter`."""

    n_sectors: int = param(16, 'angular sectors (neurons)', min=1, max=65536)
    sector_angle_min_rad: float = param(-math.pi, 'start of the sector window', min=-10.0,
                                        max=10.0)
    sector_angle_max_rad: float = param(math.pi, 'end of the sector window', min=-10.0,
                                        max=10.0)
    near_m: float = param(0.1, 'range with proximity 1 (most spikes)', min=0.0, max=1e6)
    far_m: float = param(5.0, 'range with proximity 0 (no spikes)', min=0.0, max=1e6)
    window_steps: int = param(10, 'steps over which one scan spikes', min=1, max=100000)
    max_ranges: int = param(100000, 'longest accepted ranges array', min=1, max=1 << 24)
    time_tolerance_s: float = param(0.005, 'accepted backwards jump of the stamp', min=0.0,
                                    max=3600.0)
    noise: NoiseConfig = noise_field()

    def __post_init__(self) -> None:
        validate_config(self)
        if self.sector_angle_max_rad <= self.sector_angle_min_rad:
            raise ConfigError('LaserScanConfig.sector_angle_max_rad must be > '
                              'sector_angle_min_rad')
        if self.far_m <= self.near_m:
            raise ConfigError('LaserScanConfig.far_m must be > near_m')


def sector_nearest(ranges: np.ndarray, angles: np.ndarray, valid: np.ndarray,
                   cfg: LaserScanConfig) -> np.ndarray:
    """Return the nearest valid range per sector (``inf`` where none)."""
    width = cfg.sector_angle_max_rad - cfg.sector_angle_min_rad
    pos = (angles - cfg.sector_angle_min_rad) / width
    inside = valid & (pos >= 0.0) & (pos < 1.0)
    sector = np.minimum((pos[inside] * cfg.n_sectors).astype(np.int64), cfg.n_sectors - 1)
    nearest = np.full(cfg.n_sectors, np.inf)
    np.minimum.at(nearest, sector, ranges[inside])
    return nearest


def spike_counts(nearest: np.ndarray, cfg: LaserScanConfig) -> np.ndarray:
    """Return spikes per sector: ``round(proximity * window_steps)``."""
    p = np.clip((cfg.far_m - nearest) / (cfg.far_m - cfg.near_m), 0.0, 1.0)
    return np.rint(p * cfg.window_steps).astype(np.int64)


class LaserScanAdapter(Adapter):
    """Encode sensor_msgs/LaserScan messages; ``n_channels`` = ``n_sectors + noise.channels``."""

    def __init__(self, config: LaserScanConfig, dt_ns: int) -> None:
        super().__init__()
        self.config = config
        self.dt_ns = check_dt_ns(dt_ns)
        self._noise = NoiseSource(config.noise, config.n_sectors, self.dt_ns)
        self.n_channels = config.n_sectors + config.noise.channels
        self.invalid_ranges = 0
        self.last_nearest = np.full(config.n_sectors, np.inf)
        self._cursor = StepCursor(self.dt_ns)
        self._tolerance_ns = int(round(config.time_tolerance_s * NS_PER_S))
        self._last_ns: int | None = None

    def reset(self) -> None:
        """Forget the stream state; keep the counters."""
        self._cursor.reset()
        self._last_ns = None

    def read_scan(self, msg: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """Return ``(ranges, angles, valid, n_invalid)`` after checking the header fields."""
        cfg = self.config
        try:
            n = len(msg.ranges)
            if n > cfg.max_ranges:
                raise GeometryError(f'{n} ranges, max_ranges {cfg.max_ranges}')
            head = [float(msg.angle_min), float(msg.angle_increment), float(msg.range_min),
                    float(msg.range_max)]
            if not all(math.isfinite(v) for v in head):
                raise NonFiniteError(f'non-finite angle/range limits {head}')
            angle_min, inc, range_min, range_max = head
            if not 0.0 <= range_min < range_max:
                raise OutOfRangeError(f'range_min {range_min} / range_max {range_max}')
            if abs(angle_min) > 100.0 or abs(inc) * n > 100.0:
                raise OutOfRangeError(f'angles {angle_min} + {n} x {inc} rad out of range')
            ranges = np.asarray(msg.ranges, np.float64).reshape(-1)
            if ranges.size != n:
                raise ShapeError('ranges is not a flat sequence')
        except AdapterError:
            raise
        except (AttributeError, TypeError, ValueError, OverflowError, IndexError) as err:
            raise ShapeError(f'malformed LaserScan message: {err}') from None
        angles = angle_min + np.arange(n) * inc
        invalid = np.isnan(ranges) | (np.isfinite(ranges) & (ranges < range_min))
        ranges = np.where(ranges == -np.inf, cfg.near_m, ranges)
        beyond = np.isfinite(ranges) & (ranges > range_max)
        valid = ~invalid & ~beyond & (ranges != np.inf)
        return ranges, angles, valid, int(np.sum(invalid))

    def _encode(self, msg: Any) -> SpikeBatch:
        t = check_stamp_ns(getattr(msg, 'header', None))
        check_time_order(t, self._last_ns, self._tolerance_ns)
        ranges, angles, valid, n_invalid = self.read_scan(msg)
        cfg = self.config
        nearest = sector_nearest(ranges, angles, valid, cfg)
        counts = spike_counts(nearest, cfg)
        first_step, n_steps = self._cursor.span(t, t, min_steps=cfg.window_steps)
        sector = np.repeat(np.arange(cfg.n_sectors), counts)
        rank = np.arange(sector.size) - np.repeat(np.cumsum(counts) - counts, counts)
        offsets = rank * cfg.window_steps // np.maximum(np.repeat(counts, counts), 1)
        batch = steps_to_batch(offsets, sector, first_step, n_steps, self.dt_ns,
                               self.n_channels)
        self._cursor.commit(first_step, n_steps)
        self._last_ns = t
        self.invalid_ranges += n_invalid
        self.last_nearest = nearest
        return self._noise.add(batch)
