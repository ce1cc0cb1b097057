"""Bin decoded camera events into the network's time step and input grid (numba).

An event at sensor pixel ``(x, y)`` with polarity ``p`` at ``t_ns`` becomes input index
``c * out_height * out_width + oy * out_width + ox`` at step ``t_ns // dt_ns`` where

- only events inside the region of interest ``[roi_x, roi_x + roi_w) x [roi_y, roi_y + roi_h)``
  are kept, and ``ox = (x - roi_x) * out_width // roi_w``, ``oy = (y - roi_y) * out_height //
  roi_h`` (integer area downsampling, e.g. 640x480 -> 64x48 or 34x34);
- ``c = p`` with two polarity channels (OFF = 0, ON = 1), ``c = 0`` with one (merged);
- the optional hot-pixel filter drops every event of a sensor pixel beyond
  ``hot_pixel_max_events`` within the aligned window ``t_ns // hot_pixel_window_ns``;
- each input index spikes at most once per step, and, with ``refractory_ns > 0``, not again
  until ``refractory_ns`` after its previous spike (per output pixel and channel).

Steps are aligned to multiples of ``dt_ns`` on the sensor's time axis; a batch covers the steps
from the first to the last event of the packet, so two consecutive batches may share one step
(consumers merge batches by step time).
"""

from __future__ import annotations

import numpy as np

from snn_ros.adapters import event_codecs as ec
from snn_ros.adapters.base import SpikeBatch
from snn_ros.adapters.errors import AdapterError, GeometryError, OutOfRangeError
from snn_ros.core._numba import njit

_NEVER_STEP = -(1 << 62)    # last_step of an index that never spiked
_NEVER_SPIKE = -(1 << 61)   # last_spike of an index that never spiked (no overflow in t - it)

# counters of the fused EVT3 kernel (accumulate across resumed calls)
F_N_OUT, F_N_TRIG, F_N_OOB, F_MAX_BACK, F_STEP0, F_STEP_LAST, F_N_CD = range(7)
F_SIZE = 7


@njit
def bin_events_kernel(x, y, p, t, xmap, ymap, roi_x, roi_y, roi_w, n_pol, plane, dt_ns,
                      step0, refractory_ns, last_spike, last_step, hot_max, hot_window,
                      hot_count, hot_win, out_idx, out_step):
    """Map events to (step, index): idx = c plane + ymap[y] + xmap[x], step = t // dt - step0.

    ``xmap``/``ymap`` give -1 outside the ROI; their last entry also serves every larger
    coordinate. Keeps an event if its pixel is in the ROI, its pixel has at most ``hot_max``
    events in window ``t // hot_window`` (when ``hot_max > 0``), its index has not spiked in
    this step and ``last_spike[idx] <= t - refractory_ns``. Returns the number of spikes
    written. Mutates ``last_spike``, ``last_step``, ``hot_count``, ``hot_win``, ``out_idx`` and
    ``out_step``.
    """
    n = 0
    xlim = xmap.size - 1
    ylim = ymap.size - 1
    step = np.int64(0)
    b_lo = np.int64(1)
    b_hi = np.int64(0)
    for i in range(t.size):
        xi = min(np.int64(x[i]), xlim)
        yi = min(np.int64(y[i]), ylim)
        ox = xmap[xi]
        oy = ymap[yi]
        if (ox | oy) < 0:
            continue
        ti = t[i]
        if hot_max > 0:
            pix = (yi - roi_y) * roi_w + (xi - roi_x)
            win = ti // hot_window
            if hot_win[pix] != win:
                hot_win[pix] = win
                hot_count[pix] = 0
            hot_count[pix] += 1
            if hot_count[pix] > hot_max:
                continue
        idx = oy + ox
        if n_pol == 2:
            idx += np.int64(p[i]) * plane
        if ti >= b_hi or ti < b_lo:
            step = ti // dt_ns
            b_lo = step * dt_ns
            b_hi = b_lo + dt_ns
        if refractory_ns == 0:
            # branch-free: a repeated index in the same step rewrites the same step
            fresh = np.int64(last_step[idx] != step)
            last_step[idx] = step
            out_idx[n] = idx
            out_step[n] = step - step0
            n += fresh
            continue
        if last_step[idx] == step or last_spike[idx] > ti - refractory_ns:
            continue
        last_step[idx] = step
        last_spike[idx] = ti
        out_idx[n] = idx
        out_step[n] = step - step0
        n += 1
    return n


@njit
def evt3_decode_bin_kernel(words, start, state, xmap, ymap, pol_plane, dt_ns, refractory_ns,
                           last_step, last_spike, out_idx, out_step, trig_t, trig_id, trig_edge,
                           counters):
    """Decode EVT3 words and bin the CD events in one pass (same result as decode then bin).

    Times as :func:`event_codecs.evt3_decode_kernel`; an event at (x, y, p, t) becomes index
    idx = ymap[y] + xmap[x] + p pol_plane at step s = t // dt, kept if inside the ROI, not yet
    spiked at s and ``last_spike[idx] <= t - refractory_ns``; out_step = s - step0 with step0
    the step of the packet's first CD event. Stops early like the decoder when output slots
    run out. Returns ``(stop, bad)``. Mutates ``state``, ``last_step``, ``last_spike``, the
    outputs and ``counters`` (F_* layout; F_N_CD counts CD events only as 0 / >0).
    """
    width = state[ec.E3_WIDTH]
    height = state[ec.E3_HEIGHT]
    ey = state[ec.E3_Y]
    t_low = state[ec.E3_T_LOW]
    t_high = state[ec.E3_T_HIGH]
    pol = state[ec.E3_POL]
    base_x = state[ec.E3_BASE_X]
    valid = state[ec.E3_VALID]
    has_high = state[ec.E3_HAS_HIGH]
    t_last = state[ec.E3_T_LAST]
    n = counters[F_N_OUT]
    n_trig = counters[F_N_TRIG]
    n_oob = counters[F_N_OOB]
    max_back = counters[F_MAX_BACK]
    step0 = counters[F_STEP0]
    any_cd = counters[F_N_CD]
    step_last = counters[F_STEP_LAST]
    xlim = xmap.size - 1
    ylim = ymap.size - 1
    tcap = trig_t.size
    bad = -1
    wrap_mask = ~np.int64((1 << 24) - 1)
    nw = words.size
    i = start
    # before the first TIME_HIGH + TIME_LOW pair only time words matter
    while i < nw and valid == 0:
        w = np.int64(words[i])
        code = w >> 12
        if code == 8:
            th = w & 0xFFF
            last = (t_high >> 12) & 0xFFF
            if th < last and last - th > ec.EVT3_HIGH_BACK_TOLERANCE:
                t_high += 1 << 24
            t_high = (t_high & wrap_mask) | (th << 12)
            has_high = 1
        elif code == 6:
            t_low = w & 0xFFF
            valid = has_high
        elif code == 1 or code == 11 or code == 12 or code == 13:
            bad = i
            break
        i += 1
    t_cur = (t_high | t_low) * 1000
    oy = ymap[min(ey, ylim)]
    dirty = 1       # time changed since the last emitted event: clamp and find its step
    tn = t_cur
    step = np.int64(0)
    rel = np.int64(0)
    b_lo = np.int64(1)
    b_hi = np.int64(0)
    halt = 0
    while i < nw and bad < 0 and halt == 0:
        # a word yields at most 12 spikes: run a chunk that cannot overflow without checks
        end = min(nw, i + (out_idx.size - n) // 12)
        if end <= i:
            break
        while i < end:
            w = np.int64(words[i])
            i += 1
            code = w >> 12
            if code == 2:
                if dirty:
                    dirty = 0
                    tn = t_cur
                    if tn < t_last:
                        max_back = max(max_back, t_last - tn)
                        tn = t_last
                    t_last = tn
                    if tn >= b_hi or tn < b_lo:
                        step = tn // dt_ns
                        b_lo = step * dt_ns
                        b_hi = b_lo + dt_ns
                    if any_cd == 0:
                        any_cd = 1
                        step0 = step
                    step_last = step
                    rel = step - step0
                ex = w & 0x7FF
                ox = xmap[min(ex, xlim)]
                if (ox | oy) < 0:
                    if ex >= width or ey >= height:
                        n_oob += 1
                    continue
                idx = oy + ox + ((w >> 11) & 1) * pol_plane
                if refractory_ns == 0:
                    # branch-free: a repeated index in the same step rewrites the same step
                    fresh = np.int64(last_step[idx] != step)
                    last_step[idx] = step
                    out_idx[n] = idx
                    out_step[n] = rel
                    n += fresh
                elif last_step[idx] != step and last_spike[idx] <= tn - refractory_ns:
                    last_step[idx] = step
                    last_spike[idx] = tn
                    out_idx[n] = idx
                    out_step[n] = rel
                    n += 1
            elif code == 0:
                ey = w & 0x7FF
                oy = ymap[min(ey, ylim)]
            elif code == 4 or code == 5:
                bits = w & 0xFFF if code == 4 else w & 0xFF
                if bits != 0:
                    if dirty:
                        dirty = 0
                        tn = t_cur
                        if tn < t_last:
                            max_back = max(max_back, t_last - tn)
                            tn = t_last
                        t_last = tn
                        if tn >= b_hi or tn < b_lo:
                            step = tn // dt_ns
                            b_lo = step * dt_ns
                            b_hi = b_lo + dt_ns
                        if any_cd == 0:
                            any_cd = 1
                            step0 = step
                        step_last = step
                        rel = step - step0
                    pp = pol * pol_plane
                    while bits != 0:
                        low = bits & -bits
                        bits ^= low
                        ex = base_x + ec.CTZ12[low]
                        ox = xmap[min(ex, xlim)]
                        if (ox | oy) < 0:
                            if ex >= width or ey >= height:
                                n_oob += 1
                            continue
                        idx = oy + ox + pp
                        if refractory_ns == 0:
                            fresh = np.int64(last_step[idx] != step)
                            last_step[idx] = step
                            out_idx[n] = idx
                            out_step[n] = rel
                            n += fresh
                        elif last_step[idx] != step and last_spike[idx] <= tn - refractory_ns:
                            last_step[idx] = step
                            last_spike[idx] = tn
                            out_idx[n] = idx
                            out_step[n] = rel
                            n += 1
                base_x += 12 if code == 4 else 8
            elif code == 6:
                t_low = w & 0xFFF
                t_cur = (t_high | t_low) * 1000
                dirty = 1
            elif code == 3:
                base_x = w & 0x7FF
                pol = (w >> 11) & 1
            elif code == 8:
                th = w & 0xFFF
                last = (t_high >> 12) & 0xFFF
                if th < last and last - th > ec.EVT3_HIGH_BACK_TOLERANCE:
                    t_high += 1 << 24
                t_high = (t_high & wrap_mask) | (th << 12)
                t_cur = (t_high | t_low) * 1000
                dirty = 1
            elif code == 10:
                if n_trig >= tcap:
                    i -= 1
                    halt = 1
                    break
                tt = t_cur
                if tt < t_last:
                    max_back = max(max_back, t_last - tt)
                    tt = t_last
                t_last = tt
                trig_t[n_trig] = tt
                trig_id[n_trig] = (w >> 8) & 0xF
                trig_edge[n_trig] = w & 1
                n_trig += 1
            elif code == 1 or code == 11 or code == 12 or code == 13:
                i -= 1
                bad = i
                break
    state[ec.E3_Y] = ey
    state[ec.E3_T_LOW] = t_low
    state[ec.E3_T_HIGH] = t_high
    state[ec.E3_POL] = pol
    state[ec.E3_BASE_X] = base_x
    state[ec.E3_VALID] = valid
    state[ec.E3_HAS_HIGH] = has_high
    state[ec.E3_T_LAST] = t_last
    counters[F_N_OUT] = n
    counters[F_N_TRIG] = n_trig
    counters[F_N_OOB] = n_oob
    counters[F_MAX_BACK] = max_back
    counters[F_STEP0] = step0
    counters[F_N_CD] = any_cd
    counters[F_STEP_LAST] = step_last
    return i, bad


FUSED_MAX_POPULATION = 1 << 16   # fused EVT3 path snapshots per-index state up to this size


class EventBinner:
    """Stateful binner for one stream: ROI, downsampling, polarity, refractory, hot pixels.

    Args:
        width: sensor width (already validated against the configured maximum).
        height: sensor height.
        dt_ns: network time step.
        out_width: input grid width.
        out_height: input grid height.
        polarity_channels: 1 (merged) or 2 (OFF plane then ON plane).
        roi: ``(x, y, w, h)`` in sensor pixels; ``w`` or ``h`` 0 means up to the sensor edge.
        refractory_ns: per-index dead time after a spike (0 = off).
        hot_pixel_max_events: events per pixel allowed per window (0 = filter off).
        hot_pixel_window_ns: window length of the hot-pixel filter.
        max_steps_per_packet: a packet spanning more steps is rejected (OutOfRangeError).

    Raises:
        GeometryError: the ROI does not fit the sensor or is smaller than the output grid.
    """

    def __init__(self, width: int, height: int, dt_ns: int, out_width: int, out_height: int,
                 polarity_channels: int = 2, roi: tuple[int, int, int, int] = (0, 0, 0, 0),
                 refractory_ns: int = 0, hot_pixel_max_events: int = 0,
                 hot_pixel_window_ns: int = 100_000_000,
                 max_steps_per_packet: int = 10_000_000) -> None:
        rx, ry, rw, rh = (int(v) for v in roi)
        rw = rw or width - rx
        rh = rh or height - ry
        if rx < 0 or ry < 0 or rw <= 0 or rh <= 0 or rx + rw > width or ry + rh > height:
            raise GeometryError(f'roi {tuple(roi)} does not fit the {width} x {height} sensor')
        if rw < out_width or rh < out_height:
            raise GeometryError(f'roi {rw} x {rh} is smaller than the output grid '
                                f'{out_width} x {out_height}')
        self.width, self.height = int(width), int(height)
        self.roi = (rx, ry, rw, rh)
        self.dt_ns = int(dt_ns)
        self.out_width, self.out_height = int(out_width), int(out_height)
        self.polarity_channels = int(polarity_channels)
        self.refractory_ns = int(refractory_ns)
        self.hot_pixel_max_events = int(hot_pixel_max_events)
        self.hot_pixel_window_ns = int(hot_pixel_window_ns)
        self.max_steps_per_packet = int(max_steps_per_packet)
        self.plane = self.out_width * self.out_height
        self.population_size = self.plane * self.polarity_channels
        # one entry per coordinate plus a last -1 entry that serves every larger coordinate
        xs = np.arange(self.width + 1, dtype=np.int64) - rx
        self._xmap = np.where((xs >= 0) & (xs < rw), xs * self.out_width // rw, -1)
        ys = np.arange(self.height + 1, dtype=np.int64) - ry
        self._ymap = np.where((ys >= 0) & (ys < rh), (ys * self.out_height // rh) * self.out_width,
                              -1)
        self._out_idx = np.zeros(0, np.uint32)
        self._out_step = np.zeros(0, np.uint32)
        self.reset()

    @property
    def fused_ok(self) -> bool:
        """Return True if :meth:`decode_bin_evt3` may be used (no hot-pixel filter, small grid)."""
        return self.hot_pixel_max_events == 0 and self.population_size <= FUSED_MAX_POPULATION

    def reset(self) -> None:
        """Forget refractory and hot-pixel history."""
        # one extra slot: the sink index of events outside the ROI in the fused kernel
        self._last_spike = np.full(self.population_size + 1, _NEVER_SPIKE, np.int64)
        self._last_step = np.full(self.population_size + 1, _NEVER_STEP, np.int64)
        n_hot = self.roi[2] * self.roi[3] if self.hot_pixel_max_events > 0 else 1
        self._hot_count = np.zeros(n_hot, np.int64)
        self._hot_win = np.full(n_hot, _NEVER_STEP, np.int64)

    def _outputs(self, n: int) -> None:
        if self._out_idx.size < n:
            size = max(n, 2 * self._out_idx.size)
            self._out_idx = np.empty(size, np.uint32)
            self._out_step = np.empty(size, np.uint32)

    def check_span(self, t_ns: np.ndarray) -> None:
        """Raise OutOfRangeError if time-ordered ``t_ns`` spans too many steps."""
        if t_ns.size:
            self._check_steps(int(t_ns[0]) // self.dt_ns, int(t_ns[-1]) // self.dt_ns)

    def _check_steps(self, step0: int, step_last: int) -> int:
        n_steps = step_last - step0 + 1
        if n_steps > self.max_steps_per_packet:
            raise OutOfRangeError(f'packet spans {n_steps} steps of {self.dt_ns} ns, more '
                                  f'than {self.max_steps_per_packet}')
        return n_steps

    def bin(self, x: np.ndarray, y: np.ndarray, p: np.ndarray, t_ns: np.ndarray) -> SpikeBatch:
        """Turn time-ordered events into a :class:`SpikeBatch` (one spike per index per step).

        The batch's arrays are copies; the binner's history is updated.

        Raises:
            OutOfRangeError: the events span more than ``max_steps_per_packet`` steps.
        """
        dt = self.dt_ns
        if t_ns.size == 0:
            return SpikeBatch.empty(0, dt, self.population_size)
        step0 = int(t_ns[0]) // dt
        n_steps = self._check_steps(step0, int(t_ns[-1]) // dt)
        self._outputs(t_ns.size)
        n = bin_events_kernel(x, y, p, t_ns, self._xmap, self._ymap, self.roi[0], self.roi[1],
                              self.roi[2], self.polarity_channels, self.plane, dt, step0,
                              self.refractory_ns, self._last_spike, self._last_step,
                              self.hot_pixel_max_events, self.hot_pixel_window_ns,
                              self._hot_count, self._hot_win, self._out_idx, self._out_step)
        return SpikeBatch(self._out_idx[:n].copy(), self._out_step[:n].copy(), n_steps,
                          step0 * dt, dt, self.population_size)

    def decode_bin_evt3(self, decoder: ec.StreamDecoder, payload: np.ndarray,
                        is_bigendian: bool = False) -> tuple[SpikeBatch, ec.DecodedEvents]:
        """Decode an EVT3 payload and bin it in one pass (same result as decode then bin).

        The decoder's new state is left pending (call ``decoder.commit()`` to keep it); on any
        error the binner's history is restored, so a rejected packet changes nothing.

        Returns:
            The batch, and the packet's trigger events (its CD arrays are empty: the fused path
            does not materialise them).

        Raises:
            The decoder's errors, and OutOfRangeError for a too long packet.
        """
        state, words = decoder.prepare('evt3', payload, self.width, self.height, 0,
                                       is_bigendian)
        snap_step = self._last_step.copy()
        snap_spike = self._last_spike.copy()
        self._outputs(words.size + 24)
        trig = decoder.trigger_buffers(16)
        counters = np.zeros(F_SIZE, np.int64)
        pol_plane = self.plane if self.polarity_channels == 2 else 0
        try:
            start = 0
            while True:
                start, bad = evt3_decode_bin_kernel(
                    words, start, state, self._xmap, self._ymap, pol_plane, self.dt_ns,
                    self.refractory_ns, self._last_step,
                    self._last_spike, self._out_idx, self._out_step, *trig, counters)
                if bad >= 0:
                    raise AdapterError(f'evt3 word {bad} has undefined type '
                                       f'{int(words[bad]) >> 12}: corrupt payload')
                if start >= words.size:
                    break
                n = int(counters[F_N_OUT])
                if n > self._out_idx.size - 13:
                    old_idx, old_step = self._out_idx, self._out_step
                    self._out_idx = np.empty(2 * old_idx.size + 24, np.uint32)
                    self._out_step = np.empty(2 * old_idx.size + 24, np.uint32)
                    self._out_idx[:n] = old_idx[:n]
                    self._out_step[:n] = old_step[:n]
                if int(counters[F_N_TRIG]) >= trig[0].size:
                    trig = decoder.trigger_buffers(2 * trig[0].size, int(counters[F_N_TRIG]))
            decoder.check_and_stage('evt3', state, int(counters[F_N_OOB]),
                                    int(counters[F_MAX_BACK]), self.width, self.height)
            n_cd = int(counters[F_N_CD])
            step0 = int(counters[F_STEP0])
            n_steps = self._check_steps(step0, int(counters[F_STEP_LAST])) if n_cd else 0
        except AdapterError:
            self._last_step = snap_step
            self._last_spike = snap_spike
            raise
        n = int(counters[F_N_OUT])
        n_trig = int(counters[F_N_TRIG])
        empty16 = np.zeros(0, np.uint16)
        events = ec.DecodedEvents(empty16, empty16, np.zeros(0, np.uint8),
                                  np.zeros(0, np.int64), trig[0][:n_trig], trig[1][:n_trig],
                                  trig[2][:n_trig])
        if n_cd == 0:
            return SpikeBatch.empty(0, self.dt_ns, self.population_size), events
        return (SpikeBatch(self._out_idx[:n].copy(), self._out_step[:n].copy(), n_steps,
                           step0 * self.dt_ns, self.dt_ns, self.population_size), events)
