"""Slow, obvious plain-Python references for the event-camera kernels (tests only).

Each function mirrors one numba kernel of :mod:`snn_ros.adapters.event_codecs` or
:mod:`snn_ros.adapters.event_binning` word by word, with the same state layout, so the tests can
compare the fast path with an implementation that is easy to read.
"""

from __future__ import annotations

from snn_ros.adapters import event_codecs as ec


def evt3_decode_ref(words, state):
    """Decode EVT3 words like :func:`event_codecs.evt3_decode_kernel`; return the same tuple.

    Returns ``(x, y, p, t_ns, trig_t_ns, trig_id, trig_edge, n_oob, max_back_ns, bad_index)``
    as Python lists and ints; ``state`` (int64 array) is updated in place.
    """
    s = [int(v) for v in state]
    width, height = s[ec.E3_WIDTH], s[ec.E3_HEIGHT]
    xs, ys, ps, ts, tt, ti, te = [], [], [], [], [], [], []
    n_oob = 0
    max_back = 0
    bad = -1

    def emit_time():
        nonlocal max_back
        t = (s[ec.E3_T_HIGH] | s[ec.E3_T_LOW]) * 1000
        if t < s[ec.E3_T_LAST]:
            max_back = max(max_back, s[ec.E3_T_LAST] - t)
            return s[ec.E3_T_LAST]
        s[ec.E3_T_LAST] = t
        return t

    def cd(ex, pol):
        nonlocal n_oob
        t = emit_time()
        if ex < width and s[ec.E3_Y] < height:
            xs.append(ex)
            ys.append(s[ec.E3_Y])
            ps.append(pol)
            ts.append(t)
        else:
            n_oob += 1

    for i, w in enumerate(int(v) for v in words):
        code = w >> 12
        if code == 8:
            th = w & 0xFFF
            last = (s[ec.E3_T_HIGH] >> 12) & 0xFFF
            if th < last and last - th > ec.EVT3_HIGH_BACK_TOLERANCE:
                s[ec.E3_T_HIGH] += 1 << 24
            s[ec.E3_T_HIGH] = (s[ec.E3_T_HIGH] & ~((1 << 24) - 1)) | (th << 12)
            s[ec.E3_HAS_HIGH] = 1
            continue
        if code == 6:
            s[ec.E3_T_LOW] = w & 0xFFF
            if s[ec.E3_HAS_HIGH]:
                s[ec.E3_VALID] = 1
            continue
        if code in (1, 11, 12, 13):
            bad = i
            break
        if not s[ec.E3_VALID]:
            continue
        if code == 0:
            s[ec.E3_Y] = w & 0x7FF
        elif code == 2:
            cd(w & 0x7FF, (w >> 11) & 1)
        elif code == 3:
            s[ec.E3_BASE_X] = w & 0x7FF
            s[ec.E3_POL] = (w >> 11) & 1
        elif code in (4, 5):
            n = 12 if code == 4 else 8
            for k in range(n):
                if (w >> k) & 1:
                    cd(s[ec.E3_BASE_X] + k, s[ec.E3_POL])
            s[ec.E3_BASE_X] += n
        elif code == 10:
            t = emit_time()
            tt.append(t)
            ti.append((w >> 8) & 0xF)
            te.append(w & 1)
    state[:] = s
    return xs, ys, ps, ts, tt, ti, te, n_oob, max_back, bad


def libcaer_decode_ref(data, ts_us, time_base, state):
    """Decode libcaer polarity events like :func:`event_codecs.libcaer_decode_kernel`.

    Returns ``(x, y, p, t_ns, n_oob, max_back_ns, bad_index)``; ``state`` updated in place.
    """
    s = [int(v) for v in state]
    width, height = s[ec.LC_WIDTH], s[ec.LC_HEIGHT]
    if s[ec.LC_TIME_BASE] != time_base or not s[ec.LC_STARTED]:
        s[ec.LC_TIME_BASE] = time_base
        s[ec.LC_WRAPS] = 0
        s[ec.LC_TS_LAST] = 0
        s[ec.LC_STARTED] = 1
    xs, ys, ps, ts = [], [], [], []
    n_oob = 0
    max_back = 0
    bad = -1
    for i in range(len(data)):
        d = int(data[i])
        low = int(ts_us[i])
        if low < 0:
            bad = i
            break
        if low < s[ec.LC_TS_LAST]:
            s[ec.LC_WRAPS] += 1
        s[ec.LC_TS_LAST] = low
        t = time_base + (s[ec.LC_WRAPS] * (1 << 31) + low) * 1000
        if t < s[ec.LC_T_LAST]:
            max_back = max(max_back, s[ec.LC_T_LAST] - t)
            t = s[ec.LC_T_LAST]
        s[ec.LC_T_LAST] = t
        x = (d >> 17) & 0x7FFF
        y = (d >> 2) & 0x7FFF
        if x < width and y < height:
            xs.append(x)
            ys.append(y)
            ps.append((d >> 1) & 1)
            ts.append(t)
        else:
            n_oob += 1
    state[:] = s
    return xs, ys, ps, ts, n_oob, max_back, bad


def packed64_decode_ref(words, time_base, state, is_trigger):
    """Decode ``mono`` / ``trigger`` 64-bit words like :func:`event_codecs.packed64_decode_kernel`.

    Returns ``(x_or_id, y, p, t_ns, n_oob, max_back_ns)``; ``state`` updated in place.
    """
    s = [int(v) for v in state]
    width, height = s[ec.PK_WIDTH], s[ec.PK_HEIGHT]
    xs, ys, ps, ts = [], [], [], []
    n_oob = 0
    max_back = 0
    for w in (int(v) for v in words):
        t = time_base + (w & 0xFFFFFFFF)
        if t < s[ec.PK_T_LAST]:
            max_back = max(max_back, s[ec.PK_T_LAST] - t)
            t = s[ec.PK_T_LAST]
        s[ec.PK_T_LAST] = t
        p = w >> 63
        if is_trigger:
            xs.append((w >> 48) & 0xFF)
            ys.append(0)
            ps.append(p)
            ts.append(t)
            continue
        x = (w >> 32) & 0xFFFF
        y = (w >> 48) & 0x7FFF
        if x < width and y < height:
            xs.append(x)
            ys.append(y)
            ps.append(p)
            ts.append(t)
        else:
            n_oob += 1
    state[:] = s
    return xs, ys, ps, ts, n_oob, max_back


def evt3_encode_ref(x, y, p, t_us, kind, trig_id, state, vectorize):
    """Encode a time-ordered event list to EVT3 words like :func:`event_codecs.evt3_encode_kernel`.

    ``kind[i]`` is 0 for a CD event and 1 for a trigger (``p`` is then the edge). Returns the
    list of 16-bit words; ``state`` updated in place.
    """
    out = []
    s = [int(v) for v in state]
    n = len(t_us)
    i = 0
    while i < n:
        t = int(t_us[i])
        high = t >> 12
        if not s[ec.ENC_STARTED] or high != s[ec.ENC_HIGH]:
            if s[ec.ENC_STARTED]:
                cur = s[ec.ENC_HIGH]
                while high - cur > ec.EVT3_ENC_HIGH_STEP:
                    cur += ec.EVT3_ENC_HIGH_STEP
                    out.append(0x8000 | (cur & 0xFFF))
            out.append(0x8000 | (high & 0xFFF))
            s[ec.ENC_HIGH] = high
            s[ec.ENC_LOW] = -1
            s[ec.ENC_STARTED] = 1
        if (t & 0xFFF) != s[ec.ENC_LOW]:
            out.append(0x6000 | (t & 0xFFF))
            s[ec.ENC_LOW] = t & 0xFFF
        if kind[i] == 1:
            out.append(0xA000 | ((int(trig_id[i]) & 0xF) << 8) | (int(p[i]) & 1))
            i += 1
            continue
        yi = int(y[i])
        if yi != s[ec.ENC_Y]:
            out.append(yi & 0x7FF)
            s[ec.ENC_Y] = yi
        j = i + 1
        if vectorize:
            while (j < n and kind[j] == 0 and int(t_us[j]) == t and int(y[j]) == yi
                   and int(p[j]) == int(p[i]) and int(x[j]) > int(x[j - 1])
                   and int(x[j]) < int(x[i]) + 12):
                j += 1
        if j - i >= 2:
            mask = 0
            for k in range(i, j):
                mask |= 1 << (int(x[k]) - int(x[i]))
            out.append(0x3000 | ((int(p[i]) & 1) << 11) | (int(x[i]) & 0x7FF))
            out.append(0x4000 | mask)
            i = j
        else:
            out.append(0x2000 | ((int(p[i]) & 1) << 11) | (int(x[i]) & 0x7FF))
            i += 1
    state[:] = s
    return out


def bin_events_ref(x, y, p, t, width, height, dt_ns, out_width, out_height, polarity_channels,
                   roi, refractory_ns, hot_pixel_max_events, hot_pixel_window_ns, history=None):
    """Bin events like :class:`event_binning.EventBinner` (one packet, or a stream via history).

    ``history`` is a dict carried between calls (last spike time and step per index, hot-pixel
    counts). Returns ``(indices, step_offsets, n_steps, t0_ns)``.
    """
    if history is None:
        history = {}
    rx, ry, rw, rh = roi
    rw = rw or width - rx
    rh = rh or height - ry
    last_spike = history.setdefault('last_spike', {})
    last_step = history.setdefault('last_step', {})
    hot = history.setdefault('hot', {})
    if len(t) == 0:
        return [], [], 0, 0
    step0 = int(t[0]) // dt_ns
    n_steps = int(t[-1]) // dt_ns - step0 + 1
    idx_out, step_out = [], []
    for xi, yi, pi, ti in zip((int(v) for v in x), (int(v) for v in y), (int(v) for v in p),
                              (int(v) for v in t)):
        if not (rx <= xi < rx + rw and ry <= yi < ry + rh):
            continue
        if hot_pixel_max_events > 0:
            win = ti // hot_pixel_window_ns
            w, c = hot.get((xi, yi), (None, 0))
            c = c + 1 if w == win else 1
            hot[(xi, yi)] = (win, c)
            if c > hot_pixel_max_events:
                continue
        ox = (xi - rx) * out_width // rw
        oy = (yi - ry) * out_height // rh
        idx = oy * out_width + ox
        if polarity_channels == 2:
            idx += pi * out_width * out_height
        step = ti // dt_ns
        if last_step.get(idx) == step:
            continue
        if idx in last_spike and ti - last_spike[idx] < refractory_ns:
            continue
        last_step[idx] = step
        last_spike[idx] = ti
        idx_out.append(idx)
        step_out.append(step - step0)
    return idx_out, step_out, n_steps, step0 * dt_ns


def libcaer_cmp_decode_ref(words, time_base, state):
    """Decode libcaer_cmp words like :func:`event_codecs.libcaer_cmp_decode_kernel`.

    Returns ``(x, y, p, t_ns, n_oob, max_back_ns, bad_index)``; ``state`` updated in place.
    """
    s = [int(v) for v in state]
    width, height = s[ec.CC_WIDTH], s[ec.CC_HEIGHT]
    xs, ys, ps, ts = [], [], [], []
    n_oob = 0
    max_back = 0
    bad = -1
    t_high = t_low = 0

    def cd(ey, pol):
        nonlocal n_oob, max_back
        t = time_base + (t_high | t_low) * 1000
        if t < s[ec.CC_T_LAST]:
            max_back = max(max_back, s[ec.CC_T_LAST] - t)
            t = s[ec.CC_T_LAST]
        s[ec.CC_T_LAST] = t
        if s[ec.CC_X] < width and ey < height:
            xs.append(s[ec.CC_X])
            ys.append(ey)
            ps.append(pol)
            ts.append(t)
        else:
            n_oob += 1

    for i, w in enumerate(int(v) for v in words):
        code = w >> 12
        if code == 0:
            t_high = (w & 0xFFF) << 12
        elif code == 1:
            t_low = w & 0xFFF
        elif code == 2:
            s[ec.CC_X] = w & 0x7FF
        elif code == 3:
            cd(w & 0x7FF, (w >> 11) & 1)
        elif code == 4:
            s[ec.CC_BASE_Y] = w & 0x7FF
            s[ec.CC_POL] = (w >> 11) & 1
        elif code == 5:
            for k in range(8):
                if (w >> k) & 1:
                    cd(s[ec.CC_BASE_Y] + k, s[ec.CC_POL])
            s[ec.CC_BASE_Y] += 8
        else:
            bad = i
            break
    state[:] = s
    return xs, ys, ps, ts, n_oob, max_back, bad
