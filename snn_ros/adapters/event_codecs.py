"""Numba decoders (and an EVT3 encoder) for the payloads of ``event_camera_msgs/EventPacket``.

Every decoder turns the raw ``events`` bytes of one packet into parallel arrays
``x`` (uint16), ``y`` (uint16), ``p`` (uint8), ``t_ns`` (int64) for change-detection (CD) events
and ``trig_t_ns`` (int64), ``trig_id`` (uint8), ``trig_edge`` (uint8) for external triggers.
Decoder state (time high bits, wrap counters, current row ...) lives in a small int64 array that
a :class:`StreamDecoder` keeps per stream, so packets of one stream decode as one continuous
stream. A rejected packet leaves that state untouched (the kernels run on a copy that is
committed only when the packet is accepted).

Bit layouts implemented (all payloads little-endian unless ``is_bigendian``; the layouts follow
ros-event-camera/event_camera_codecs and the Prophesee EVT 3.0 specification):

``evt3`` -- 16-bit words, type in bits 15..12:

====  ============  ===========================================================
code  name          payload
====  ============  ===========================================================
0     ADDR_Y        y = bits 10..0 (bit 11: system type, ignored)
2     ADDR_X        x = bits 10..0, polarity = bit 11; one CD event at (x, y)
3     VECT_BASE_X   base x = bits 10..0, polarity = bit 11
4     VECT_12       bit k of bits 11..0 set: CD event at base x + k; base x += 12
5     VECT_8        bit k of bits 7..0 set: CD event at base x + k; base x += 8
6     TIME_LOW      low 12 bits of the µs time
8     TIME_HIGH     high 12 bits of the 24-bit µs time
10    EXT_TRIGGER   edge = bit 0, channel id = bits 11..8
7, 9, 14, 15      CONTINUED_4, padding, OTHERS, CONTINUED_12: ignored
1, 11, 12, 13     undefined: the packet is rejected (corrupt payload)
====  ============  ===========================================================

Time is ``(wraps << 24 | high << 12 | low)`` µs, returned as ns. The 24-bit time wraps every
16.78 s: a TIME_HIGH that is smaller than the previous one by more than
:data:`EVT3_HIGH_BACK_TOLERANCE` counts as a wrap (smaller steps back are sensor noise, as in
event_camera_codecs). Events before the first TIME_HIGH followed by a TIME_LOW carry no valid
time and are skipped (as upstream). Real Gen4.1 streams contain non-monotonic TIME_LOW words
(a stray word about 12 µs ahead, then time resumes; see prophesee-raw/SOURCE.md); event times are
therefore clamped to be non-decreasing (like faery), and the largest step back seen is reported
so the adapter can reject streams that go back by more than its tolerance.

``libcaer`` -- 8-byte polarity events ``(uint32 data, int32 timestamp_us)``: x = data bits
31..17, y = bits 16..2, polarity = bit 1 (bit 0, libcaer's valid mark, is ignored as upstream).
The timestamp is libcaer's 31-bit non-negative µs counter carried in a signed 32-bit field; a
negative value is corrupt. ``t_ns = time_base + (wraps * 2**31 + ts) * 1000``: a timestamp
smaller than the previous one is a wrap. Wraps are counted across packets for as long as
``time_base`` stays the same (upstream only within a packet; a driver that advances
``time_base`` at the wrap gets identical results either way).

``mono`` -- 64-bit words: t offset (ns) = bits 31..0, x = bits 47..32, y = bits 62..48,
polarity = bit 63; ``t_ns = time_base + offset``. ``trigger`` -- the same word with the trigger
channel id in bits 55..48 (upstream casts the 15-bit field to uint8) and the edge in bit 63;
these become trigger events.

``libcaer_cmp`` -- compressed libcaer (iniVation cameras through libcaer_driver): 16-bit words,
type in bits 15..12: 0 TIME_HIGH (bits 11..0 = µs bits 23..12), 1 TIME_LOW (µs bits 11..0),
2 ADDR_X (x = bits 10..0), 3 ADDR_Y (y = bits 10..0, polarity = bit 11; one CD event at (x, y)),
4 VECT_BASE_Y (base y, polarity), 5 VECT_8 (bit k set: event at (x, base y + k); base y += 8);
types 6..15 are rejected. ``t_ns = time_base + (high << 12 | low) * 1000``, with time high and
low reset to 0 at every packet (the time base carries the packet's start); x, base y and
polarity persist across packets, as in event_camera_codecs.

Outputs are sized from the payload length only, never from a header field: libcaer, mono and
trigger give at most one event per word; the EVT3 kernel starts with one slot per word, stops
before a word that might not fit (a VECT_12 word holds up to 12 events) and is resumed on
doubled buffers. A :class:`StreamDecoder` reuses its buffers across packets, because first
touches of fresh memory (page faults) cost more than decoding on the development machine.
"""

from __future__ import annotations

from dataclasses import dataclass
import enum

import numpy as np

from snn_ros.adapters.errors import (AdapterError, GeometryError, OutOfRangeError,
                                     TimeBackwardsError, TruncatedBufferError,
                                     UnknownEncodingError)
from snn_ros.core._numba import njit

EVT3_HIGH_BACK_TOLERANCE = 10   # TIME_HIGH steps back by at most this much are noise, not wraps
EVT3_ENC_HIGH_STEP = 2048       # encoder: largest TIME_HIGH increment per word (wrap-safe)
EVT3_ENC_MAX_GAP_WORDS = 1_000_000   # encoder: bound on TIME_HIGH words bridging time gaps
MAX_TIME_BASE_NS = 1 << 62      # time_base above this would overflow int64 arithmetic
_I64_MIN = np.iinfo(np.int64).min

# evt3 decoder state layout
E3_Y, E3_T_LOW, E3_T_HIGH, E3_POL, E3_BASE_X, E3_VALID, E3_HAS_HIGH, E3_T_LAST = range(8)
E3_WIDTH, E3_HEIGHT = 8, 9
E3_STATE_SIZE = 10
# libcaer decoder state layout
LC_TIME_BASE, LC_TS_LAST, LC_WRAPS, LC_T_LAST, LC_STARTED, LC_WIDTH, LC_HEIGHT = range(7)
LC_STATE_SIZE = 7
# mono / trigger decoder state layout
PK_T_LAST, PK_WIDTH, PK_HEIGHT = range(3)
PK_STATE_SIZE = 3
# libcaer_cmp decoder state layout
CC_X, CC_POL, CC_BASE_Y, CC_T_LAST, CC_WIDTH, CC_HEIGHT = range(6)
CC_STATE_SIZE = 6
# evt3 encoder state layout
ENC_HIGH, ENC_LOW, ENC_Y, ENC_STARTED = range(4)
ENC_STATE_SIZE = 4


class Encoding(enum.IntEnum):
    """Payload encodings of ``EventPacket.encoding`` this package decodes."""

    EVT3 = 0
    LIBCAER = 1
    MONO = 2
    TRIGGER = 3
    LIBCAER_CMP = 4


ENCODING_NAMES = {e.name.lower(): e for e in Encoding}
_T_LAST_INDEX = {Encoding.EVT3: E3_T_LAST, Encoding.LIBCAER: LC_T_LAST,
                 Encoding.LIBCAER_CMP: CC_T_LAST}
WORD_BYTES = {Encoding.EVT3: 2, Encoding.LIBCAER: 8, Encoding.MONO: 8, Encoding.TRIGGER: 8,
              Encoding.LIBCAER_CMP: 2}


def encoding_code(name: object) -> Encoding:
    """Return the :class:`Encoding` called ``name`` or raise UnknownEncodingError."""
    if not isinstance(name, str) or name not in ENCODING_NAMES:
        raise UnknownEncodingError(
            f'encoding {name!r} is not one of {sorted(ENCODING_NAMES)}')
    return ENCODING_NAMES[name]


# ----------------------------------------------------------------------------------- kernels
# CTZ12[1 << k] == k: bit position of an isolated low bit of a 12-bit VECT mask
CTZ12 = np.zeros(4096, np.int64)
CTZ12[1 << np.arange(12)] = np.arange(12)

# counters shared by the resumable EVT3 kernels (accumulate across resumed calls)
C_N_CD, C_N_TRIG, C_N_OOB, C_MAX_BACK, C_T_HIGH, C_T_LOW = range(6)
C_SIZE = 6


@njit
def evt3_decode_kernel(words, start, state, x, y, p, t, trig_t, trig_id, trig_edge, counters):
    """Decode EVT3 words: t_us = wraps << 24 | high << 12 | low; t_ns = max(1000 t_us, t_last).

    Starts at word ``start`` and writes events at ``counters[C_N_CD]`` / ``[C_N_TRIG]``; stops
    early, before a word that might not fit, when fewer than 12 CD slots or no trigger slot
    remain. Events outside ``state[E3_WIDTH] x state[E3_HEIGHT]`` are counted in
    ``counters[C_N_OOB]`` and dropped; ``counters[C_MAX_BACK]`` keeps the largest clamped step
    back. Returns ``(stop, bad)``: the next word to decode (``words.size`` when done) and the
    index of an undefined word (-1 if none; decoding stops there). Mutates ``state``,
    ``counters`` and the output arrays.
    """
    width = state[E3_WIDTH]
    height = state[E3_HEIGHT]
    ey = state[E3_Y]
    t_low = state[E3_T_LOW]
    t_high = state[E3_T_HIGH]
    pol = state[E3_POL]
    base_x = state[E3_BASE_X]
    valid = state[E3_VALID]
    has_high = state[E3_HAS_HIGH]
    t_last = state[E3_T_LAST]
    n_cd = counters[C_N_CD]
    n_trig = counters[C_N_TRIG]
    n_oob = counters[C_N_OOB]
    max_back = counters[C_MAX_BACK]
    cap = x.size - 12
    tcap = trig_t.size
    bad = -1
    wrap_mask = ~np.int64((1 << 24) - 1)
    t_cur = (t_high | t_low) * 1000
    nw = words.size
    i = start
    while i < nw:
        if n_cd > cap or n_trig >= tcap:
            break
        w = np.int64(words[i])
        i += 1
        code = w >> 12
        if code == 2:
            if valid:
                tn = t_cur
                if tn < t_last:
                    max_back = max(max_back, t_last - tn)
                    tn = t_last
                t_last = tn
                ex = w & 0x7FF
                x[n_cd] = ex
                y[n_cd] = ey
                p[n_cd] = (w >> 11) & 1
                t[n_cd] = tn
                ok = np.int64(ex < width) & np.int64(ey < height)
                n_cd += ok
                n_oob += 1 - ok
        elif code == 0:
            if valid:
                ey = w & 0x7FF
        elif code == 6:
            t_low = w & 0xFFF
            t_cur = (t_high | t_low) * 1000
            if has_high:
                valid = 1
        elif code == 4 or code == 5:
            if valid:
                bits = w & 0xFFF if code == 4 else w & 0xFF
                tn = t_cur
                if bits != 0:
                    if tn < t_last:
                        max_back = max(max_back, t_last - tn)
                        tn = t_last
                    t_last = tn
                    yok = np.int64(ey < height)
                    while bits != 0:
                        low = bits & -bits
                        bits ^= low
                        ex = base_x + CTZ12[low]
                        ok = np.int64(ex < width) & yok
                        x[n_cd] = ex
                        y[n_cd] = ey
                        p[n_cd] = pol
                        t[n_cd] = tn
                        n_cd += ok
                        n_oob += 1 - ok
                base_x += 12 if code == 4 else 8
        elif code == 3:
            if valid:
                base_x = w & 0x7FF
                pol = (w >> 11) & 1
        elif code == 8:
            th = w & 0xFFF
            last = (t_high >> 12) & 0xFFF
            if th < last and last - th > EVT3_HIGH_BACK_TOLERANCE:
                t_high += 1 << 24
            t_high = (t_high & wrap_mask) | (th << 12)
            t_cur = (t_high | t_low) * 1000
            has_high = 1
        elif code == 10:
            if valid:
                tn = t_cur
                if tn < t_last:
                    max_back = max(max_back, t_last - tn)
                    tn = t_last
                t_last = tn
                trig_t[n_trig] = tn
                trig_id[n_trig] = (w >> 8) & 0xF
                trig_edge[n_trig] = w & 1
                n_trig += 1
        elif code == 1 or code == 11 or code == 12 or code == 13:
            bad = i - 1
            i -= 1
            break
    state[E3_Y] = ey
    state[E3_T_LOW] = t_low
    state[E3_T_HIGH] = t_high
    state[E3_POL] = pol
    state[E3_BASE_X] = base_x
    state[E3_VALID] = valid
    state[E3_HAS_HIGH] = has_high
    state[E3_T_LAST] = t_last
    counters[C_N_CD] = n_cd
    counters[C_N_TRIG] = n_trig
    counters[C_N_OOB] = n_oob
    counters[C_MAX_BACK] = max_back
    return i, bad


@njit
def libcaer_decode_kernel(data, ts_us, time_base, state, x, y, p, t):
    """Decode libcaer polarity events: t_ns = max(time_base + (wraps 2^31 + ts) 1000, t_last).

    A timestamp below the previous one adds a wrap; a new ``time_base`` restarts the wrap count.
    Returns ``(n_cd, n_oob, max_back_ns, bad_index)`` (bad: first negative timestamp, -1 if
    none; decoding stops there). Mutates ``state`` and the output arrays.
    """
    width = state[LC_WIDTH]
    height = state[LC_HEIGHT]
    if state[LC_TIME_BASE] != time_base or state[LC_STARTED] == 0:
        state[LC_TIME_BASE] = time_base
        state[LC_WRAPS] = 0
        state[LC_TS_LAST] = 0
        state[LC_STARTED] = 1
    ts_last = state[LC_TS_LAST]
    wraps = state[LC_WRAPS]
    t_last = state[LC_T_LAST]
    n_cd = 0
    n_oob = 0
    max_back = 0
    bad = -1
    for i in range(data.size):
        low = np.int64(ts_us[i])
        if low < 0:
            bad = i
            break
        if low < ts_last:
            wraps += 1
        ts_last = low
        tn = time_base + (wraps * (np.int64(1) << 31) + low) * 1000
        if tn < t_last:
            if t_last - tn > max_back:
                max_back = t_last - tn
            tn = t_last
        t_last = tn
        d = np.int64(data[i])
        ex = (d >> 17) & 0x7FFF
        ey = (d >> 2) & 0x7FFF
        if ex < width and ey < height:
            x[n_cd] = ex
            y[n_cd] = ey
            p[n_cd] = (d >> 1) & 1
            t[n_cd] = tn
            n_cd += 1
        else:
            n_oob += 1
    state[LC_TS_LAST] = ts_last
    state[LC_WRAPS] = wraps
    state[LC_T_LAST] = t_last
    return n_cd, n_oob, max_back, bad


@njit
def packed64_decode_kernel(words, time_base, state, is_trigger, x, y, p, t):
    """Decode ``mono``/``trigger`` words: t_ns = max(time_base + (w & 0xFFFFFFFF), t_last).

    mono: x = w >> 32 & 0xFFFF, y = w >> 48 & 0x7FFF, p = w >> 63; trigger: x holds the channel
    id (w >> 48 & 0xFF), y = 0, p the edge. Returns ``(n, n_oob, max_back_ns)``. Mutates
    ``state`` and the output arrays.
    """
    width = state[PK_WIDTH]
    height = state[PK_HEIGHT]
    t_last = state[PK_T_LAST]
    n = 0
    n_oob = 0
    max_back = 0
    for i in range(words.size):
        w = words[i]
        tn = time_base + np.int64(w & np.uint64(0xFFFFFFFF))
        if tn < t_last:
            if t_last - tn > max_back:
                max_back = t_last - tn
            tn = t_last
        t_last = tn
        pol = np.int64(w >> np.uint64(63))
        if is_trigger:
            x[n] = np.int64(w >> np.uint64(48)) & 0xFF
            y[n] = 0
            p[n] = pol
            t[n] = tn
            n += 1
            continue
        ex = np.int64(w >> np.uint64(32)) & 0xFFFF
        ey = np.int64(w >> np.uint64(48)) & 0x7FFF
        if ex < width and ey < height:
            x[n] = ex
            y[n] = ey
            p[n] = pol
            t[n] = tn
            n += 1
        else:
            n_oob += 1
    state[PK_T_LAST] = t_last
    return n, n_oob, max_back


@njit
def evt3_encode_kernel(x, y, p, t_us, kind, trig_id, state, vectorize, out):
    """Encode time-ordered events to EVT3 words (inverse of :func:`evt3_decode_kernel`).

    TIME_HIGH is written when t_us >> 12 changes (in steps of at most EVT3_ENC_HIGH_STEP so the
    decoder sees every 24-bit wrap), TIME_LOW when the low 12 bits change, ADDR_Y when y
    changes; runs of >= 2 CD events with equal t, y, p and increasing x within 12 pixels become
    VECT_BASE_X + VECT_12. ``kind`` 1 marks a trigger (``p`` = edge). Returns the number of
    words written. Mutates ``state`` and ``out``.
    """
    n = t_us.size
    k = 0
    i = 0
    cur_high = state[ENC_HIGH]
    cur_low = state[ENC_LOW]
    cur_y = state[ENC_Y]
    started = state[ENC_STARTED]
    while i < n:
        tt = np.int64(t_us[i])
        high = tt >> 12
        if started == 0 or high != cur_high:
            if started != 0:
                while high - cur_high > EVT3_ENC_HIGH_STEP:
                    cur_high += EVT3_ENC_HIGH_STEP
                    out[k] = 0x8000 | (cur_high & 0xFFF)
                    k += 1
            out[k] = 0x8000 | (high & 0xFFF)
            k += 1
            cur_high = high
            cur_low = -1
            started = 1
        if (tt & 0xFFF) != cur_low:
            out[k] = 0x6000 | (tt & 0xFFF)
            k += 1
            cur_low = tt & 0xFFF
        pi = np.int64(p[i]) & 1
        if kind[i] == 1:
            out[k] = 0xA000 | ((np.int64(trig_id[i]) & 0xF) << 8) | pi
            k += 1
            i += 1
            continue
        yi = np.int64(y[i])
        if yi != cur_y:
            out[k] = yi & 0x7FF
            k += 1
            cur_y = yi
        xi = np.int64(x[i])
        j = i + 1
        if vectorize:
            while (j < n and kind[j] == 0 and np.int64(t_us[j]) == tt and np.int64(y[j]) == yi
                   and (np.int64(p[j]) & 1) == pi and np.int64(x[j]) > np.int64(x[j - 1])
                   and np.int64(x[j]) < xi + 12):
                j += 1
        if j - i >= 2:
            mask = 0
            for m in range(i, j):
                mask |= 1 << (np.int64(x[m]) - xi)
            out[k] = 0x3000 | (pi << 11) | (xi & 0x7FF)
            out[k + 1] = 0x4000 | mask
            k += 2
            i = j
        else:
            out[k] = 0x2000 | (pi << 11) | (xi & 0x7FF)
            k += 1
            i += 1
    state[ENC_HIGH] = cur_high
    state[ENC_LOW] = cur_low
    state[ENC_Y] = cur_y
    state[ENC_STARTED] = started
    return k


@njit
def libcaer_cmp_decode_kernel(words, start, time_base, state, x, y, p, t, counters):
    """Decode libcaer_cmp words: t_ns = max(time_base + (high << 12 | low) 1000, t_last).

    Time high and low start at 0 in every packet (call with ``start`` 0). Stops before a word
    that might not fit (fewer than 8 CD slots left). Returns ``(stop, bad)`` like
    :func:`evt3_decode_kernel`; counters use the C_* layout. Mutates ``state``, ``counters``
    and the output arrays.
    """
    width = state[CC_WIDTH]
    height = state[CC_HEIGHT]
    ex = state[CC_X]
    pol = state[CC_POL]
    base_y = state[CC_BASE_Y]
    t_last = state[CC_T_LAST]
    n_cd = counters[C_N_CD]
    n_oob = counters[C_N_OOB]
    max_back = counters[C_MAX_BACK]
    t_high = counters[C_T_HIGH]
    t_low = counters[C_T_LOW]
    cap = x.size - 8
    bad = -1
    i = start
    while i < words.size:
        if n_cd > cap:
            break
        w = np.int64(words[i])
        i += 1
        code = w >> 12
        if code == 3 or code == 5:
            tn = time_base + (t_high | t_low) * 1000
            if tn < t_last:
                max_back = max(max_back, t_last - tn)
                tn = t_last
            t_last = tn
            if code == 3:
                ey = w & 0x7FF
                ok = np.int64(ex < width) & np.int64(ey < height)
                x[n_cd] = ex
                y[n_cd] = ey
                p[n_cd] = (w >> 11) & 1
                t[n_cd] = tn
                n_cd += ok
                n_oob += 1 - ok
            else:
                bits = w & 0xFF
                while bits != 0:
                    low = bits & -bits
                    bits ^= low
                    ey = base_y + CTZ12[low]
                    ok = np.int64(ex < width) & np.int64(ey < height)
                    x[n_cd] = ex
                    y[n_cd] = ey
                    p[n_cd] = pol
                    t[n_cd] = tn
                    n_cd += ok
                    n_oob += 1 - ok
                base_y += 8
        elif code == 2:
            ex = w & 0x7FF
        elif code == 1:
            t_low = w & 0xFFF
        elif code == 0:
            t_high = (w & 0xFFF) << 12
        elif code == 4:
            base_y = w & 0x7FF
            pol = (w >> 11) & 1
        else:
            i -= 1
            bad = i
            break
    state[CC_X] = ex
    state[CC_POL] = pol
    state[CC_BASE_Y] = base_y
    state[CC_T_LAST] = t_last
    counters[C_N_CD] = n_cd
    counters[C_N_OOB] = n_oob
    counters[C_MAX_BACK] = max_back
    counters[C_T_HIGH] = t_high
    counters[C_T_LOW] = t_low
    return i, bad


# ------------------------------------------------------------------------- public wrappers
@dataclass
class DecodedEvents:
    """CD events and trigger events decoded from one packet (parallel arrays)."""

    x: np.ndarray
    y: np.ndarray
    p: np.ndarray
    t_ns: np.ndarray
    trig_t_ns: np.ndarray
    trig_id: np.ndarray
    trig_edge: np.ndarray

    @property
    def size(self) -> int:
        """Return the number of CD events."""
        return int(self.t_ns.size)


def _alloc(n_cd: int, n_trig: int) -> tuple[np.ndarray, ...]:
    return (np.empty(n_cd, np.uint16), np.empty(n_cd, np.uint16), np.empty(n_cd, np.uint8),
            np.empty(n_cd, np.int64), np.empty(n_trig, np.int64), np.empty(n_trig, np.uint8),
            np.empty(n_trig, np.uint8))


def payload_array(events: object) -> np.ndarray:
    """Return a message's ``events`` field as a read-only uint8 array without copying if possible.

    Accepts numpy arrays (rosbags), ``array.array``/bytes/bytearray/memoryview (rclpy) and
    sequences of ints. Raises ShapeError-like :class:`AdapterError` for anything else.
    """
    from snn_ros.adapters.errors import ShapeError
    if isinstance(events, np.ndarray):
        if events.dtype == np.uint8 and events.ndim == 1:
            return events
        if events.ndim != 1 or events.dtype.kind not in 'iub':
            raise ShapeError(f'events must be a 1-D uint8 array, got {events.dtype} '
                             f'{events.shape}')
        arr = events
    else:
        try:
            mv = memoryview(events)  # type: ignore[arg-type]
        except TypeError:
            mv = None
        if mv is not None:
            if mv.itemsize == 1 and mv.ndim == 1:
                return np.frombuffer(mv, np.uint8)
            raise ShapeError(f'events buffer must hold bytes, got format {mv.format!r}')
        if isinstance(events, (str, dict)) or not hasattr(events, '__len__'):
            raise ShapeError(f'events must be a byte sequence, got {type(events).__name__}')
        try:
            arr = np.asarray(events)
        except (TypeError, ValueError, OverflowError) as err:
            raise ShapeError(f'events is not a byte sequence: {err}') from None
        if arr.size == 0:
            return np.zeros(0, np.uint8)
        if arr.ndim != 1 or arr.dtype.kind not in 'iub':
            raise ShapeError(f'events must be a sequence of ints, got {arr.dtype} {arr.shape}')
    if arr.size and (arr.min() < 0 or arr.max() > 255):
        raise ShapeError('events values must lie in [0, 255]')
    return arr.astype(np.uint8)


class StreamDecoder:
    """Stateful decoder of one event stream; state persists across packets.

    Output arrays are views into buffers the decoder reuses (no page faults per packet): they
    stay valid until the next :meth:`decode` call; copy them to keep them longer.

    Args:
        time_backwards_tolerance_ns: largest step back in time accepted (and clamped); a packet
            going back further is rejected with TimeBackwardsError.
    """

    def __init__(self, time_backwards_tolerance_ns: int = 1_000_000) -> None:
        self.time_backwards_tolerance_ns = int(time_backwards_tolerance_ns)
        self._buf = list(_alloc(0, 0))
        self.reset()

    def reset(self) -> None:
        """Forget the stream (time high bits, wraps, last time, encoding)."""
        self.encoding = None
        self._state = np.zeros(0, np.int64)
        self._pending: tuple[np.ndarray, Encoding] | None = None

    def _ensure(self, n_cd: int, n_trig: int) -> None:
        """Make the reusable output buffers hold at least ``n_cd`` / ``n_trig`` events."""
        b = self._buf
        if b[0].size < n_cd:
            b[:4] = _alloc(max(n_cd, 2 * b[0].size), 0)[:4]
        if b[4].size < max(n_trig, 1):
            b[4:] = _alloc(0, max(n_trig, 2 * b[4].size, 1))[4:]
        # the trigger decoder parks its unused y values in the CD y buffer
        if b[1].size < n_trig:
            b[:4] = _alloc(max(n_trig, 2 * b[0].size), 0)[:4]

    def _grow(self, n_cd: int, n_trig: int) -> None:
        """Double whichever buffer stopped the kernel, keeping its first events."""
        b = self._buf
        if n_cd > b[0].size - 13:
            new = _alloc(2 * b[0].size + 24, 0)[:4]
            for old, arr in zip(b[:4], new):
                arr[:n_cd] = old[:n_cd]
            b[:4] = new
        if n_trig >= b[4].size:
            new = _alloc(0, 2 * b[4].size + 16)[4:]
            for old, arr in zip(b[4:], new):
                arr[:n_trig] = old[:n_trig]
            b[4:] = new

    def commit(self) -> None:
        """Keep the stream state of the last decoded packet (no-op if already kept)."""
        if self._pending is not None:
            self._state, self.encoding = self._pending
            self._pending = None

    @property
    def last_t_ns(self) -> int | None:
        """Return the time of the last accepted event, or None before any."""
        if self.encoding is None:
            return None
        idx = _T_LAST_INDEX.get(self.encoding, PK_T_LAST)
        v = int(self._state[idx])
        return None if v == _I64_MIN else v

    def _fresh_state(self, enc: Encoding) -> np.ndarray:
        size = {Encoding.EVT3: E3_STATE_SIZE, Encoding.LIBCAER: LC_STATE_SIZE,
                Encoding.LIBCAER_CMP: CC_STATE_SIZE}.get(enc, PK_STATE_SIZE)
        st = np.zeros(size, np.int64)
        st[_T_LAST_INDEX.get(enc, PK_T_LAST)] = _I64_MIN
        return st

    def prepare(self, encoding: object, payload: np.ndarray, width: int, height: int,
                time_base: int = 0, is_bigendian: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Validate a packet's framing and return ``(state copy, native-order words)``.

        The state copy already holds the geometry; kernels decode into it and
        :meth:`check_and_stage` stages it. Raises the framing errors of :meth:`decode`.
        """
        self._pending = None
        enc = encoding_code(encoding)
        if self.encoding is not None and enc != self.encoding:
            raise UnknownEncodingError(
                f'encoding changed from {self.encoding.name.lower()!r} to {encoding!r} within '
                'a stream; reset the adapter first')
        nbytes = int(payload.size)
        wb = WORD_BYTES[enc]
        if nbytes % wb:
            raise TruncatedBufferError(
                f'{encoding} payload of {nbytes} bytes is not a multiple of {wb}')
        if width <= 0 or height <= 0:
            raise GeometryError(f'width x height {width} x {height} must be positive')
        if enc != Encoding.EVT3 and not 0 <= time_base <= MAX_TIME_BASE_NS:
            raise OutOfRangeError(f'time_base {time_base} outside [0, 2**62]')
        state = (self._state if self.encoding is not None else self._fresh_state(enc)).copy()
        buf = np.ascontiguousarray(payload, np.uint8)
        if enc == Encoding.EVT3:
            state[E3_WIDTH] = width
            state[E3_HEIGHT] = height
            words = buf.view('>u2' if is_bigendian else '<u2')
            return state, words.astype(np.uint16, copy=False)
        if enc == Encoding.LIBCAER_CMP:
            state[CC_WIDTH] = width
            state[CC_HEIGHT] = height
            words = buf.view('>u2' if is_bigendian else '<u2')
            return state, words.astype(np.uint16, copy=False)
        if enc == Encoding.LIBCAER:
            state[LC_WIDTH] = width
            state[LC_HEIGHT] = height
        else:
            state[PK_WIDTH] = width
            state[PK_HEIGHT] = height
        return state, buf

    def check_and_stage(self, encoding: object, state: np.ndarray, n_oob: int, back_ns: int,
                        width: int, height: int) -> None:
        """Raise for out-of-range events or time going back too far, else stage ``state``."""
        if n_oob:
            raise OutOfRangeError(
                f'{n_oob} {encoding} events lie outside the {width} x {height} sensor')
        tol = self.time_backwards_tolerance_ns
        if back_ns > tol:
            raise TimeBackwardsError(
                f'{encoding} time went back by {back_ns} ns (tolerance {tol} ns)')
        self._pending = (state, encoding_code(encoding))

    def trigger_buffers(self, n: int, keep: int = 0) -> tuple[np.ndarray, ...]:
        """Return the reusable trigger buffers (t, id, edge) grown to ``n``, keeping ``keep``."""
        b = self._buf
        if b[4].size < n:
            new = _alloc(0, max(n, 2 * b[4].size))[4:]
            for old, arr in zip(b[4:], new):
                arr[:keep] = old[:keep]
            b[4:] = new
        return b[4], b[5], b[6]

    def decode(self, encoding: object, payload: np.ndarray, width: int, height: int,
               time_base: int = 0, is_bigendian: bool = False,
               commit: bool = True) -> DecodedEvents:
        """Decode one packet; commit the stream state only if the packet is accepted.

        Args:
            encoding: ``evt3``, ``libcaer``, ``libcaer_cmp``, ``mono`` or ``trigger``.
            payload: the packet's bytes as a 1-D uint8 array.
            width: sensor width in pixels (already checked against the configured maximum).
            height: sensor height in pixels.
            time_base: the message's time base in ns (libcaer, mono, trigger).
            is_bigendian: byte order of the payload words.
            commit: keep the new stream state now; with False, the caller runs further checks
                and calls :meth:`commit` only if the packet is accepted.

        Returns:
            The decoded events, times in int64 ns, non-decreasing across packets.

        Raises:
            UnknownEncodingError, TruncatedBufferError, OutOfRangeError, GeometryError,
            TimeBackwardsError, AdapterError (undefined EVT3 word, negative libcaer time).
        """
        enc = encoding_code(encoding)
        state, buf = self.prepare(encoding, payload, width, height, time_base, is_bigendian)
        if enc == Encoding.EVT3:
            words = buf
            self._ensure(words.size + 24, 16)
            counters = np.zeros(C_SIZE, np.int64)
            start = 0
            while True:
                start, bad = evt3_decode_kernel(words, start, state, *self._buf, counters)
                if bad >= 0:
                    raise AdapterError(f'evt3 word {bad} has undefined type '
                                       f'{int(words[bad]) >> 12}: corrupt payload')
                if start >= words.size:
                    break
                self._grow(int(counters[C_N_CD]), int(counters[C_N_TRIG]))
            n_cd, n_trig, n_oob, back = (int(v) for v in counters[:4])
        elif enc == Encoding.LIBCAER_CMP:
            words = buf
            self._ensure(words.size + 24, 0)
            counters = np.zeros(C_SIZE, np.int64)
            start = 0
            while True:
                start, bad = libcaer_cmp_decode_kernel(words, start, np.int64(time_base), state,
                                                       *self._buf[:4], counters)
                if bad >= 0:
                    raise AdapterError(f'libcaer_cmp word {bad} has undefined type '
                                       f'{int(words[bad]) >> 12}: corrupt payload')
                if start >= words.size:
                    break
                self._grow(int(counters[C_N_CD]), 0)
            n_cd, n_trig, n_oob, back = (int(v) for v in counters[:4])
        elif enc == Encoding.LIBCAER:
            n = buf.size // 8
            rec = buf.view(np.dtype([('data', '>u4' if is_bigendian else '<u4'),
                                     ('ts', '>i4' if is_bigendian else '<i4')]))
            data = rec['data'].astype(np.uint32)
            ts = rec['ts'].astype(np.int32)
            self._ensure(n, 0)
            n_cd, n_oob, back, bad = libcaer_decode_kernel(data, ts, np.int64(time_base), state,
                                                           *self._buf[:4])
            n_trig = 0
            if bad >= 0:
                raise AdapterError(f'libcaer event {bad} has a negative timestamp '
                                   f'{int(ts[bad])}: corrupt payload')
        else:
            n = buf.size // 8
            words = buf.view('>u8' if is_bigendian else '<u8').astype(np.uint64, copy=False)
            is_trig = enc == Encoding.TRIGGER
            self._ensure(0 if is_trig else n, n if is_trig else 0)
            b = self._buf
            targets = (b[5], b[1], b[6], b[4]) if is_trig else b[:4]
            k, n_oob, back = packed64_decode_kernel(words, np.int64(time_base), state, is_trig,
                                                    *targets)
            n_cd, n_trig = (0, k) if is_trig else (k, 0)
        self.check_and_stage(encoding, state, n_oob, back, width, height)
        if commit:
            self.commit()
        x, y, p, t, tt, ti, te = self._buf
        return DecodedEvents(x[:n_cd], y[:n_cd], p[:n_cd], t[:n_cd], tt[:n_trig], ti[:n_trig],
                             te[:n_trig])


def _int_array(values: object, name: str) -> np.ndarray:
    """Return ``values`` as a flat int64 array or raise ValueError."""
    try:
        arr = np.asarray(values)
        if arr.dtype.kind not in 'iub' and arr.size:
            raise TypeError(f'dtype {arr.dtype}')
        return arr.astype(np.int64).ravel()
    except (TypeError, ValueError, OverflowError) as err:
        raise ValueError(f'{name} must be a sequence of integers: {err}') from None


def encode_evt3(x: np.ndarray, y: np.ndarray, p: np.ndarray, t_ns: np.ndarray, *,
                trig_t_ns: np.ndarray | None = None, trig_id: np.ndarray | None = None,
                trig_edge: np.ndarray | None = None, state: np.ndarray | None = None,
                vectorize: bool = True) -> bytes:
    """Encode CD (and trigger) events as an EVT3 payload for an ``EventPacket``.

    Times are floored to µs (EVT3's resolution) and must be non-decreasing (CD and triggers
    each; they are merged by time, triggers first on ties). EVT3 keeps 24 bits of µs time;
    a stream that starts below 2**24 µs (16.78 s) decodes to the same times, otherwise to the
    same times modulo 2**24 µs.

    Args:
        x: column of each CD event (< 2048).
        y: row of each CD event (< 2048).
        p: polarity 0/1.
        t_ns: time in ns (>= 0).
        trig_t_ns: optional trigger times in ns.
        trig_id: trigger channel ids (< 16), required with ``trig_t_ns``.
        trig_edge: trigger edges 0/1, required with ``trig_t_ns``.
        state: an int64 array from :func:`new_evt3_encoder_state` to continue a stream over
            several packets (updated in place); None encodes a self-contained packet.
        vectorize: group runs of neighbouring events into VECT_BASE_X + VECT_12 words.

    Returns:
        The little-endian payload bytes.

    Raises:
        ValueError: lengths differ, values out of range, or time goes backwards.
    """
    x = _int_array(x, 'x')
    y = _int_array(y, 'y')
    p = _int_array(p, 'p')
    t_ns = _int_array(t_ns, 't_ns')
    t_us = t_ns // 1000
    if not x.size == y.size == p.size == t_us.size:
        raise ValueError('x, y, p and t_ns must have the same length')
    if x.size and (x.min() < 0 or x.max() > 2047 or y.min() < 0 or y.max() > 2047):
        raise ValueError('x and y must lie in [0, 2047]')
    if p.size and (p.min() < 0 or p.max() > 1):
        raise ValueError('p must be 0 or 1')
    if trig_t_ns is None:
        tt = np.zeros(0, np.int64)
        ti = np.zeros(0, np.int64)
        te = np.zeros(0, np.int64)
    else:
        if trig_id is None or trig_edge is None:
            raise ValueError('trig_id and trig_edge are required with trig_t_ns')
        tt = _int_array(trig_t_ns, 'trig_t_ns') // 1000
        ti = _int_array(trig_id, 'trig_id')
        te = _int_array(trig_edge, 'trig_edge')
        if not tt.size == ti.size == te.size:
            raise ValueError('trigger arrays must have the same length')
        if tt.size and (ti.min() < 0 or ti.max() > 15 or te.min() < 0 or te.max() > 1):
            raise ValueError('trig_id must lie in [0, 15] and trig_edge in {0, 1}')
    for name, arr in (('t_ns', t_us), ('trig_t_ns', tt)):
        if arr.size and (arr[0] < 0 or np.any(np.diff(arr) < 0)):
            raise ValueError(f'{name} must be non-negative and non-decreasing')
    if state is None:
        state = new_evt3_encoder_state()
    elif state.dtype != np.int64 or state.shape != (ENC_STATE_SIZE,):
        raise ValueError('state must come from new_evt3_encoder_state()')
    n = x.size + tt.size
    t_all = np.concatenate([tt, t_us])
    order = np.argsort(t_all, kind='stable')
    kind = np.concatenate([np.ones(tt.size, np.int64), np.zeros(x.size, np.int64)])[order]
    xa = np.concatenate([np.zeros(tt.size, np.int64), x])[order]
    ya = np.concatenate([np.zeros(tt.size, np.int64), y])[order]
    pa = np.concatenate([te, p])[order]
    ida = np.concatenate([ti, np.zeros(x.size, np.int64)])[order]
    t_all = t_all[order]
    if n and state[ENC_STARTED] and t_all[0] < state[ENC_HIGH] << 12:
        raise ValueError('t_ns goes back before the previous packet of this stream')
    highs = t_all >> 12
    prev = np.concatenate([[state[ENC_HIGH] if state[ENC_STARTED] else highs[:1].sum()],
                           highs[:-1]]) if n else highs
    extra = int(np.sum((highs - prev) // EVT3_ENC_HIGH_STEP)) if n else 0
    if extra > EVT3_ENC_MAX_GAP_WORDS:
        raise ValueError(f'time gaps need {extra} TIME_HIGH words (more than '
                         f'{EVT3_ENC_MAX_GAP_WORDS}, about 100 days); split the stream')
    out = np.empty(4 * n + extra + 1, np.uint16)
    k = evt3_encode_kernel(xa, ya, pa, t_all, kind, ida, state, bool(vectorize), out)
    return out[:k].astype('<u2').tobytes()


def new_evt3_encoder_state() -> np.ndarray:
    """Return a fresh encoder state (no time or row written yet)."""
    st = np.zeros(ENC_STATE_SIZE, np.int64)
    st[ENC_LOW] = -1
    st[ENC_Y] = -1
    return st


def decode_nmnist_bs2(raw: bytes | np.ndarray) -> tuple[np.ndarray, ...]:
    """Decode an N-MNIST ``.bs2``/``.bin`` file (5 bytes per event) into ``x, y, p, t_us``.

    Byte layout per event: x, y, then 1 polarity bit and a 23-bit microsecond timestamp.
    A trailing partial event is ignored. Returns int64 arrays.
    """
    b = np.frombuffer(raw, np.uint8) if isinstance(raw, (bytes, bytearray)) else raw
    b = np.asarray(b, np.uint8).ravel()
    b = b[:b.size // 5 * 5].reshape(-1, 5).astype(np.int64)
    t = ((b[:, 2] & 0x7F) << 16) | (b[:, 3] << 8) | b[:, 4]
    return b[:, 0], b[:, 1], b[:, 2] >> 7, t
