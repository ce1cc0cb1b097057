"""sensor_msgs/Image to events: an event-camera emulator in the spirit of v2e.

Each pixel keeps a reference log intensity. When a new frame's log intensity ``L`` differs from
the reference by ``n >= 1`` thresholds (``threshold_on`` up, ``threshold_off`` down), the pixel
emits ``n`` ON or OFF events (at most ``max_events_per_pixel``) with times interpolated linearly
between the previous and the current frame stamp (at most ``max_frame_interval_s`` back), and
its reference moves by ``n`` thresholds (reset on event). Intensity ``I`` in [0, 1] maps to
log space with v2e's lin-log curve: linear below ``linlog_cut`` and ``log`` above, continuous
at the cut, so dark-pixel noise stays small.

Encodings: ``mono8``, ``mono16`` (``is_bigendian`` honoured), ``rgb8``, ``bgr8``, ``rgba8``,
``bgra8`` (colour converted to luma 0.299 R + 0.587 G + 0.114 B); rows may be padded
(``step`` >= width x bytes per pixel). Geometry is checked against the configured maxima before
anything is allocated. Events are binned onto an output grid of ``out_width x out_height``
(``x_out = x * out_width // width``) with two polarity channels per cell:
index ``(y_out * out_width + x_out) * 2 + p`` with ``p = 1`` ON, ``0`` OFF. The full-resolution
events of the last frame are kept in ``last_events``.
"""

from __future__ import annotations

import array
from dataclasses import dataclass
import math
from typing import Any, NamedTuple

import numpy as np

from snn_ros.adapters.base import Adapter, SpikeBatch
from snn_ros.adapters.encoders import check_dt_ns, check_stamp_ns, check_time_order, \
    events_to_batch, MAX_STEPS_PER_BATCH, NS_PER_S, param, StepCursor, validate_config
from snn_ros.adapters.errors import AdapterError, GeometryError, ShapeError, \
    TruncatedBufferError, UnknownEncodingError
from snn_ros.core._numba import njit
from snn_ros.core.errors import ConfigError

# encoding -> (bytes per pixel, channel order for luma or None for mono)
ENCODINGS = {
    'mono8': (1, None), 'mono16': (2, None), 'rgb8': (3, (0, 1, 2)), 'bgr8': (3, (2, 1, 0)),
    'rgba8': (4, (0, 1, 2)), 'bgra8': (4, (2, 1, 0)),
}
LUMA = (0.299, 0.587, 0.114)


class EventArrays(NamedTuple):
    """Events at input resolution: ``x``, ``y``, polarity ``p`` (1 = ON) and ``t_ns``."""

    x: np.ndarray
    y: np.ndarray
    p: np.ndarray
    t_ns: np.ndarray


@dataclass(frozen=True)
class ImageConfig:
    """Configuration of :class:`ImageAdapter`."""

    threshold_on: float = param(0.2, 'log-intensity rise per ON event', min=0.0,
                                min_exclusive=True, max=100.0)
    threshold_off: float = param(0.2, 'log-intensity fall per OFF event', min=0.0,
                                 min_exclusive=True, max=100.0)
    linlog_cut: float = param(20.0 / 255.0, 'intensity below which the curve is linear',
                              min=0.0, min_exclusive=True, max=1.0)
    max_events_per_pixel: int = param(16, 'cap on events per pixel per frame', min=1,
                                      max=1024)
    out_width: int = param(64, 'output grid width', min=1, max=65535)
    out_height: int = param(48, 'output grid height', min=1, max=65535)
    max_width: int = param(4096, 'largest accepted image width', min=1, max=65535)
    max_height: int = param(4096, 'largest accepted image height', min=1, max=65535)
    max_bytes: int = param(64 << 20, 'largest accepted image payload (step x height)',
                           min=1, max=1 << 32)
    max_frame_interval_s: float = param(1.0, 'events of a frame are spread over at most '
                                        'this interval before its stamp', min=0.0,
                                        min_exclusive=True, max=3600.0)
    time_tolerance_s: float = param(0.005, 'accepted backwards jump of the stamp', min=0.0,
                                    max=3600.0)

    def __post_init__(self) -> None:
        validate_config(self)
        if self.out_width * self.out_height * 2 > 1 << 31:
            raise ConfigError('ImageConfig: out_width * out_height * 2 must fit in 2**31')


def lin_log(intensity: np.ndarray, cut: float) -> np.ndarray:
    """Map intensity in [0, 1] to v2e's lin-log: ``I * log(cut) / cut`` below cut, else log."""
    i = np.asarray(intensity, np.float64)
    return np.where(i < cut, i * (math.log(cut) / cut), np.log(np.maximum(i, cut)))


@njit
def _dvs_kernel(logi, ref, t0, t1, thr_on, thr_off, max_ev, write, out_x, out_y, out_p, out_t):
    """Per pixel: n = floor((L - ref) / thr) capped; ref += n * thr (ON) or -= (OFF).

    Event k (1..n) of a pixel is at ``t0 + (t1 - t0) * k * thr / |L - ref|``. With ``write``
    False only counts (nothing mutated); with ``write`` True fills the outputs and mutates
    ``ref``, ``out_x``, ``out_y``, ``out_p``, ``out_t``. Returns the event count.
    """
    h, w = logi.shape
    span = t1 - t0
    count = 0
    for y in range(h):
        for x in range(w):
            d = logi[y, x] - ref[y, x]
            if d >= thr_on:
                n = min(int(np.floor(d / thr_on)), max_ev)
                p = 1
                thr = thr_on
            elif -d >= thr_off:
                n = min(int(np.floor(-d / thr_off)), max_ev)
                p = 0
                thr = thr_off
            else:
                continue
            if write:
                ad = abs(d)
                for k in range(1, n + 1):
                    out_x[count + k - 1] = x
                    out_y[count + k - 1] = y
                    out_p[count + k - 1] = p
                    out_t[count + k - 1] = t0 + np.int64(span * (k * thr / ad))
                if p == 1:
                    ref[y, x] += n * thr
                else:
                    ref[y, x] -= n * thr
            count += n
    return count


def dvs_reference(logi: np.ndarray, ref: np.ndarray, t0: int, t1: int, thr_on: float,
                  thr_off: float, max_ev: int) -> list[tuple[int, int, int, int]]:
    """Plain-Python reference of the emulator kernel; mutates ``ref``; returns (x, y, p, t)."""
    out = []
    for y in range(logi.shape[0]):
        for x in range(logi.shape[1]):
            d = float(logi[y, x] - ref[y, x])
            if d >= thr_on:
                n, p, thr = min(math.floor(d / thr_on), max_ev), 1, thr_on
            elif -d >= thr_off:
                n, p, thr = min(math.floor(-d / thr_off), max_ev), 0, thr_off
            else:
                continue
            for k in range(1, n + 1):
                out.append((x, y, p, t0 + int((t1 - t0) * (k * thr / abs(d)))))
            ref[y, x] += n * thr if p == 1 else -n * thr
    return out


def _emit(logi: np.ndarray, ref: np.ndarray, t0: int, t1: int, thr_on: float, thr_off: float,
          max_ev: int) -> EventArrays:
    """Run the kernel twice (count, then fill) and return events sorted by time."""
    empty = np.zeros(0, np.int64)
    n = _dvs_kernel(logi, ref, t0, t1, thr_on, thr_off, max_ev, False, empty, empty,
                    empty, empty)
    ex, ey = np.empty(n, np.int64), np.empty(n, np.int64)
    ep, et = np.empty(n, np.int64), np.empty(n, np.int64)
    _dvs_kernel(logi, ref, t0, t1, thr_on, thr_off, max_ev, True, ex, ey, ep, et)
    order = np.argsort(et, kind='stable')
    return EventArrays(ex[order].astype(np.int32), ey[order].astype(np.int32),
                       ep[order].astype(np.uint8), et[order])


def emulate_events(frames: np.ndarray, t_ns: np.ndarray, threshold: float = 0.2, *,
                   threshold_off: float | None = None, max_value: float | None = None,
                   linlog_cut: float = 20.0 / 255.0,
                   max_events_per_pixel: int = 16) -> tuple[np.ndarray, ...]:
    """Turn a stack of frames into DVS-like events (ROS-free).

    Args:
        frames: ``[T, H, W]`` intensities; uint8 / uint16 are scaled by 255 / 65535, floats by
            ``max_value`` (default 1.0); values are clipped to [0, 1] after scaling.
        t_ns: ``[T]`` non-decreasing int stamps of the frames.
        threshold: ON threshold in log intensity (and OFF, unless ``threshold_off``).
        threshold_off: OFF threshold (default: ``threshold``).
        max_value: intensity mapped to 1.0 (default from the dtype).
        linlog_cut: see :func:`lin_log`.
        max_events_per_pixel: cap per pixel per frame pair.

    Returns:
        ``(x, y, p, t_ns)`` sorted by time; ``p`` is 1 for ON and 0 for OFF. The first frame
        only sets the reference.

    """
    frames = np.asarray(frames)
    t_ns = np.asarray(t_ns, np.int64).reshape(-1)
    if frames.ndim != 3 or frames.shape[0] != t_ns.size:
        raise ValueError(f'frames {frames.shape} must be [T, H, W] with T = len(t_ns) '
                         f'= {t_ns.size}')
    if t_ns.size > 1 and np.any(np.diff(t_ns) < 0):
        raise ValueError('t_ns must be non-decreasing')
    thr_off = threshold if threshold_off is None else threshold_off
    if not (threshold > 0 and thr_off > 0 and linlog_cut > 0 and max_events_per_pixel >= 1):
        raise ValueError('thresholds, linlog_cut and max_events_per_pixel must be positive')
    if max_value is None:
        max_value = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(
            frames.dtype, 1.0)
    parts = []
    ref = None
    for k in range(t_ns.size):
        logi = lin_log(np.clip(frames[k] / max_value, 0.0, 1.0), linlog_cut)
        if not np.all(np.isfinite(logi)):
            raise ValueError(f'frame {k} has NaN or inf intensities')
        if ref is None:
            ref = logi.copy()
            continue
        parts.append(_emit(logi, ref, int(t_ns[k - 1]), int(t_ns[k]), float(threshold),
                           float(thr_off), int(max_events_per_pixel)))
    if not parts:
        z = np.zeros(0, np.int32)
        return z, z.copy(), np.zeros(0, np.uint8), np.zeros(0, np.int64)
    return tuple(np.concatenate([getattr(e, f) for e in parts])
                 for f in ('x', 'y', 'p', 't_ns'))


class ImageAdapter(Adapter):
    """Emulate an event camera from sensor_msgs/Image frames.

    ``n_channels`` = ``out_width * out_height * 2``.
    """

    def __init__(self, config: ImageConfig, dt_ns: int) -> None:
        super().__init__()
        self.config = config
        self.dt_ns = check_dt_ns(dt_ns)
        self.n_channels = config.out_width * config.out_height * 2
        self._max_interval_ns = int(round(config.max_frame_interval_s * NS_PER_S))
        if self._max_interval_ns // self.dt_ns + 1 > MAX_STEPS_PER_BATCH:
            raise ConfigError(f'max_frame_interval_s spans more than {MAX_STEPS_PER_BATCH} '
                              f'steps of {self.dt_ns} ns')
        self.last_events = EventArrays(np.zeros(0, np.int32), np.zeros(0, np.int32),
                                       np.zeros(0, np.uint8), np.zeros(0, np.int64))
        self._cursor = StepCursor(self.dt_ns)
        self._tolerance_ns = int(round(config.time_tolerance_s * NS_PER_S))
        self._last_ns: int | None = None
        self._ref: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the reference frame and the clock (geometry may change after a reset)."""
        self._cursor.reset()
        self._last_ns = None
        self._ref = None

    def read_intensity(self, msg: Any) -> np.ndarray:
        """Return the frame's intensity in [0, 1] as float64 ``[height, width]``.

        Raises:
            UnknownEncodingError: encoding not in ``ENCODINGS``.
            GeometryError: zero or too large width/height/payload, or changed geometry.
            ShapeError: step shorter than a row, or data longer than step x height.
            TruncatedBufferError: data shorter than step x height.

        """
        cfg = self.config
        try:
            encoding = str(msg.encoding).lower()
            if encoding not in ENCODINGS:
                raise UnknownEncodingError(f'encoding {msg.encoding!r}; supported: '
                                           f'{sorted(ENCODINGS)}')
            bpp, order = ENCODINGS[encoding]
            w, h, step = int(msg.width), int(msg.height), int(msg.step)
            if not (0 < w <= cfg.max_width and 0 < h <= cfg.max_height):
                raise GeometryError(f'image {w} x {h}; accepted 1..{cfg.max_width} x '
                                    f'1..{cfg.max_height}')
            if step < w * bpp:
                raise ShapeError(f'step {step} < width {w} x {bpp} bytes')
            if step * h > cfg.max_bytes:
                raise GeometryError(f'payload {step} x {h} bytes above max_bytes '
                                    f'{cfg.max_bytes}')
            if self._ref is not None and self._ref.shape != (h, w):
                raise GeometryError(f'image {w} x {h} changed from {self._ref.shape[1]} x '
                                    f'{self._ref.shape[0]} (reset the adapter first)')
            raw = msg.data
            n = len(raw)
            if n < step * h:
                raise TruncatedBufferError(f'data has {n} bytes, step x height = {step * h}')
            if n > step * h:
                raise ShapeError(f'data has {n} bytes, step x height = {step * h}')
            if isinstance(raw, np.ndarray) and raw.ndim != 1:
                raise ShapeError(f'data has shape {raw.shape}, expected a flat byte array')
            if isinstance(raw, np.ndarray):
                buf = raw.astype(np.uint8, copy=False) if raw.dtype == np.uint8 \
                    else np.asarray(raw, np.int64)
            elif isinstance(raw, (bytes, bytearray)) or (
                    isinstance(raw, array.array) and raw.typecode == 'B'):
                buf = np.frombuffer(raw, np.uint8)      # rclpy: bytes or array('B')
            else:
                buf = np.asarray(raw, np.int64)
            if buf.dtype != np.uint8:
                if buf.ndim != 1 or (buf.size and (buf.min() < 0 or buf.max() > 255)):
                    raise ShapeError('data values are not bytes')
                buf = buf.astype(np.uint8)
            rows = buf.reshape(h, step)[:, :w * bpp]
            if encoding == 'mono16':
                big = bool(msg.is_bigendian)
                img = np.ascontiguousarray(rows).view('>u2' if big else '<u2') / 65535.0
            elif order is None:
                img = rows / 255.0
            else:
                px = rows.reshape(h, w, bpp).astype(np.float64)
                img = (LUMA[0] * px[:, :, order[0]] + LUMA[1] * px[:, :, order[1]]
                       + LUMA[2] * px[:, :, order[2]]) / 255.0
        except AdapterError:
            raise
        except (AttributeError, TypeError, ValueError, OverflowError, IndexError) as err:
            raise ShapeError(f'malformed Image message: {err}') from None
        return img.reshape(h, w)

    def _encode(self, msg: Any) -> SpikeBatch:
        t = check_stamp_ns(getattr(msg, 'header', None))
        check_time_order(t, self._last_ns, self._tolerance_ns)
        img = self.read_intensity(msg)
        cfg = self.config
        logi = lin_log(img, cfg.linlog_cut)
        h, w = logi.shape
        if self._ref is None:
            first_step, n_steps = self._cursor.span(t, t)
            batch = SpikeBatch.empty(first_step * self.dt_ns, self.dt_ns, self.n_channels,
                                     n_steps)
            self._ref = logi.copy()
            events = EventArrays(*(np.zeros(0, d)
                                   for d in (np.int32, np.int32, np.uint8, np.int64)))
        else:
            t_prev = min(max(self._last_ns, t - self._max_interval_ns), t)
            first_step, n_steps = self._cursor.span(t_prev, t)
            events = _emit(logi, self._ref, t_prev, t, cfg.threshold_on, cfg.threshold_off,
                           cfg.max_events_per_pixel)
            xo = events.x.astype(np.int64) * cfg.out_width // w
            yo = events.y.astype(np.int64) * cfg.out_height // h
            index = (yo * cfg.out_width + xo) * 2 + events.p
            batch = events_to_batch(events.t_ns, index, first_step, n_steps, self.dt_ns,
                                    self.n_channels)
        self._cursor.commit(first_step, n_steps)
        self._last_ns = t
        self.last_events = events
        return batch
