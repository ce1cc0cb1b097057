"""Event-camera decoders, binning and adapter: real recordings, references, bad input."""

from __future__ import annotations

from types import SimpleNamespace

from conftest import shared_data
import numpy as np
import pytest

from snn_ros.adapters import event_codecs as ec
from snn_ros.adapters import event_reference as ref
from snn_ros.adapters.base import SpikeBatch
from snn_ros.adapters.errors import (AdapterError, GeometryError, OutOfRangeError, ShapeError,
                                     TimeBackwardsError, TruncatedBufferError,
                                     UnknownEncodingError)
from snn_ros.adapters.event_binning import EventBinner
from snn_ros.adapters.event_camera import (EventCameraAdapter, EventCameraConfig,
                                           read_event_packets)
from snn_ros.adapters.event_codecs import encode_evt3, new_evt3_encoder_state, StreamDecoder
from snn_ros.core.errors import ConfigError

BAGS = 'ros-event-bags'


def packet(events, encoding='evt3', width=640, height=480, time_base=0, is_bigendian=False):
    """Return an EventPacket-like message (rosbags and rclpy messages look the same)."""
    stamp = SimpleNamespace(sec=0, nanosec=0)
    return SimpleNamespace(header=SimpleNamespace(stamp=stamp, frame_id='cam'), height=height,
                           width=width, seq=0, time_base=time_base, encoding=encoding,
                           is_bigendian=is_bigendian, events=events)


def decode_stream(msgs, **kw):
    """Decode messages with one StreamDecoder; return concatenated copies of all outputs."""
    dec = StreamDecoder(**kw)
    parts = []
    for m in msgs:
        d = dec.decode(m.encoding, ec.payload_array(m.events), m.width, m.height, m.time_base,
                       m.is_bigendian)
        parts.append([a.copy() for a in (d.x, d.y, d.p, d.t_ns, d.trig_t_ns, d.trig_id,
                                         d.trig_edge)])
    return [np.concatenate([p[k] for p in parts]) for k in range(7)]


def ref_state(width, height):
    """Return a fresh EVT3 decoder state for the reference."""
    st = np.zeros(ec.E3_STATE_SIZE, np.int64)
    st[ec.E3_T_LAST] = np.iinfo(np.int64).min
    st[ec.E3_WIDTH], st[ec.E3_HEIGHT] = width, height
    return st


# --------------------------------------------------------------------------- real recordings
@pytest.fixture(scope='module')
def events_1():
    """Return the messages of the ROS 2 sqlite3 recording test_events_1."""
    path = shared_data(BAGS) / 'event_camera_py' / 'test_events_1'
    if not path.is_dir():
        pytest.skip('test_events_1 absent')
    return list(read_event_packets(path))


@pytest.mark.parametrize('name', ['test_events_1', 'test_events_1.bag'])
def test_events_1_counts_and_time_checksum(name):
    path = shared_data(BAGS) / 'event_camera_py' / name
    if not path.exists():
        pytest.skip(f'{name} absent')
    msgs = list(read_event_packets(path))
    assert len(msgs) == 517 and msgs[0].encoding == 'evt3'
    x, y, p, t, tt, ti, te = decode_stream(msgs)
    assert int(np.count_nonzero(p == 1)) == 125_183
    assert int(np.count_nonzero(p == 0)) == 218_291
    assert tt.size == 4_157 and int(np.count_nonzero(te == 0)) == 2_078
    assert np.all(t % 1000 == 0) and np.all(tt % 1000 == 0)
    assert (int(t.sum()) + int(tt.sum())) // 1000 == 2_885_601_049_874
    assert np.all(np.diff(t) >= 0)


def test_evt3_trigger_checksums():
    path = shared_data(BAGS) / 'event_camera_codecs' / 'test_data_evt3_trigger'
    if not path.is_dir():
        pytest.skip('test_data_evt3_trigger absent')
    msgs = list(read_event_packets(path))
    x, y, p, t, tt, ti, te = decode_stream(msgs)
    assert int(x.sum(dtype=np.int64)) == 42_078_718
    assert int(y.sum(dtype=np.int64)) == 31_656_267
    assert int(p.sum(dtype=np.int64)) == 41_439
    assert int(t.sum()) == 1_222_326_831_810_000
    assert int(tt.sum()) == 29_096_982_000
    assert int(te.sum()) == 1 and int(ti.sum()) == 0
    # the plain-Python reference agrees word by word on the whole stream
    words = np.frombuffer(b''.join(bytes(m.events) for m in msgs), '<u2')
    r = ref.evt3_decode_ref(words, ref_state(1280, 720))
    for got, want in zip((x, y, p, t, tt, ti, te), r[:7]):
        assert np.array_equal(got, np.asarray(want, got.dtype))
    assert r[7:] == (0, 0, -1)


def test_events_2_libcaer_cmp_counts_from_bare_mcap():
    path = shared_data(BAGS) / 'event_camera_py' / 'test_events_2' / 'test_events_2_0.mcap'
    if not path.is_file():
        pytest.skip('test_events_2 absent')
    msgs = list(read_event_packets(path))
    assert len(msgs) == 100 and msgs[0].encoding == 'libcaer_cmp'
    x, y, p, t, tt, *_ = decode_stream(msgs)
    assert int(np.count_nonzero(p == 1)) == 211_043
    assert int(np.count_nonzero(p == 0)) == 360_223
    assert tt.size == 0 and np.all(np.diff(t) >= 0)
    assert 0.99e9 < int(t[-1] - t[0]) < 1.01e9
    # the plain-Python reference agrees on the first 20 packets
    st = np.zeros(ec.CC_STATE_SIZE, np.int64)
    st[ec.CC_T_LAST] = np.iinfo(np.int64).min
    st[ec.CC_WIDTH], st[ec.CC_HEIGHT] = 346, 260
    want = [[], [], [], []]
    for m in msgs[:20]:
        r = ref.libcaer_cmp_decode_ref(np.frombuffer(bytes(m.events), '<u2'), m.time_base, st)
        assert r[4:] == (0, 0, -1)
        for k in range(4):
            want[k] += r[k]
    n = len(want[0])
    for got, w in zip((x, y, p, t), want):
        assert np.array_equal(got[:n], w)
    adapter = EventCameraAdapter(EventCameraConfig(out_width=34, out_height=26))
    assert sum(adapter.process(m).indices.size for m in msgs) > 0
    assert adapter.counters.rejected == 0


def test_libcaer_cmp_kernel_matches_reference_on_random_words():
    rng = np.random.default_rng(11)
    for _ in range(20):
        n = int(rng.integers(1, 2000))
        codes = rng.integers(0, 6, n)
        words = ((codes << 12) | rng.integers(0, 4096, n)).astype(np.uint16)
        words[-1] = 0x3000 | int(rng.integers(0, 4096)) if rng.random() < 0.1 else words[-1]
        st = np.zeros(ec.CC_STATE_SIZE, np.int64)
        st[ec.CC_T_LAST] = np.iinfo(np.int64).min
        st[ec.CC_WIDTH], st[ec.CC_HEIGHT] = 1024, 1024
        st_ref = st.copy()
        r = ref.libcaer_cmp_decode_ref(words, 5_000, st_ref)
        out = ec._alloc(8 * n + 8, 0)
        counters = np.zeros(ec.C_SIZE, np.int64)
        stop, bad = ec.libcaer_cmp_decode_kernel(words, 0, np.int64(5_000), st, *out[:4],
                                                 counters)
        assert (stop, bad, int(counters[ec.C_N_OOB]), int(counters[ec.C_MAX_BACK])) == (
            n, -1, r[4], r[5])
        k = int(counters[ec.C_N_CD])
        for got, want in zip(out[:4], r[:4]):
            assert np.array_equal(got[:k], np.asarray(want, got.dtype))
        assert np.array_equal(st, st_ref)
    bad_words = np.array([0x2005, 0x3003, 0x7000], np.uint16)
    with pytest.raises(AdapterError):
        StreamDecoder().decode('libcaer_cmp', bad_words.view(np.uint8), 346, 260)


def read_raw(path):
    """Return (header lines, payload) of a Prophesee .raw file."""
    raw = path.read_bytes()
    i = 0
    while raw[i:i + 1] == b'%':
        i = raw.index(b'\n', i) + 1
    return raw[:i].decode(), np.frombuffer(raw[i:], np.uint8)


def test_gen41_raw_counts_vectors_and_time_low_quirk():
    path = shared_data('prophesee-raw') / 'evt3_gen41_expelliarmus.raw'
    if not path.is_file():
        pytest.skip('evt3_gen41_expelliarmus.raw absent')
    header, payload = read_raw(path)
    assert 'gen41' in header
    words = payload.view('<u2')
    codes = np.bincount(words >> 12, minlength=16)
    assert codes[4] > 0 and codes[5] > 0          # VECT_12 and VECT_8 groups are exercised
    d = StreamDecoder().decode('evt3', payload, 1280, 720)
    assert d.size == 219_596 and int(d.p.sum()) == 115_532
    # non-monotonic TIME_LOW words do not turn into 4096 us jumps: span stays ~8.8 ms
    assert np.all(np.diff(d.t_ns) >= 0)
    assert 8.7e6 < int(d.t_ns[-1] - d.t_ns[0]) < 8.9e6
    r = ref.evt3_decode_ref(words, ref_state(1280, 720))
    assert np.array_equal(d.x, r[0]) and np.array_equal(d.t_ns, r[3])


def test_adapter_on_real_bag_fused_equals_two_pass(events_1):
    for cfg in (EventCameraConfig(out_width=34, out_height=34),
                EventCameraConfig(out_width=64, out_height=48, polarity_channels=1,
                                  roi_x=100, roi_y=50, roi_width=400, roi_height=300,
                                  refractory_ns=3_000_000, dt_ns=500_000)):
        fused = EventCameraAdapter(cfg, fused=True)
        plain = EventCameraAdapter(cfg, fused=False)
        total = 0
        for m in events_1:
            a, b = fused.process(m), plain.process(m)
            assert np.array_equal(a.indices, b.indices)
            assert np.array_equal(a.step_offsets, b.step_offsets)
            assert (a.n_steps, a.t0_ns) == (b.n_steps, b.t0_ns)
            assert a.indices.size == 0 or int(a.indices.max()) < fused.n_channels
            assert np.all(np.diff(a.step_offsets.astype(np.int64)) >= 0)
            total += a.indices.size
        assert total > 0
        assert fused.counters.decoded == len(events_1) and fused.counters.rejected == 0


def test_binning_matches_reference_on_real_events(events_1):
    x, y, p, t, *_ = decode_stream(events_1[:120])
    cases = [
        dict(out_width=34, out_height=34, polarity_channels=2, roi=(0, 0, 0, 0),
             refractory_ns=0, hot_pixel_max_events=0),
        dict(out_width=64, out_height=48, polarity_channels=1, roi=(40, 30, 500, 400),
             refractory_ns=2_000_000, hot_pixel_max_events=0),
        dict(out_width=20, out_height=10, polarity_channels=2, roi=(0, 0, 0, 0),
             refractory_ns=0, hot_pixel_max_events=2),
    ]
    for case in cases:
        binner = EventBinner(640, 480, 1_000_000, hot_pixel_window_ns=5_000_000, **case)
        history: dict = {}
        for sl in (slice(0, 20_000), slice(20_000, None)):
            batch = binner.bin(x[sl], y[sl], p[sl], t[sl])
            idx, steps, n_steps, t0 = ref.bin_events_ref(
                x[sl], y[sl], p[sl], t[sl], 640, 480, 1_000_000,
                hot_pixel_window_ns=5_000_000, history=history, **case)
            assert np.array_equal(batch.indices, idx)
            assert np.array_equal(batch.step_offsets, steps)
            assert (batch.n_steps, batch.t0_ns) == (n_steps, t0)


def test_fused_kernel_matches_reference_decode_then_bin(events_1):
    cfg = EventCameraConfig(out_width=16, out_height=12, roi_x=10, roi_y=20, roi_width=600,
                            roi_height=400, refractory_ns=1_500_000, dt_ns=700_000)
    adapter = EventCameraAdapter(cfg)
    msgs = events_1[:60]
    got = [adapter.process(m) for m in msgs]
    state = ref_state(640, 480)
    history: dict = {}
    for m, batch in zip(msgs, got):
        r = ref.evt3_decode_ref(np.frombuffer(bytes(m.events), '<u2'), state)
        idx, steps, n_steps, t0 = ref.bin_events_ref(
            r[0], r[1], r[2], r[3], 640, 480, cfg.dt_ns, 16, 12, 2, (10, 20, 600, 400),
            cfg.refractory_ns, 0, 1, history=history)
        assert np.array_equal(batch.indices, idx) and np.array_equal(batch.step_offsets, steps)
        if r[3]:
            assert (batch.n_steps, batch.t0_ns) == (n_steps, t0)


# ------------------------------------------------------------------------ EVT3 synthetic
def random_events(rng, n, width=640, height=480, t0_us=1000, dt_max_us=50):
    """Return sorted random CD events (x, y, p, t_ns) with µs-aligned times."""
    t_us = t0_us + np.cumsum(rng.integers(0, dt_max_us, n))
    return (rng.integers(0, width, n), rng.integers(0, height, n), rng.integers(0, 2, n),
            t_us * 1000)


def test_encode_evt3_round_trip_with_vectors_triggers_and_wraps():
    rng = np.random.default_rng(1)
    n = 4000
    # times cross several 24-bit (16.78 s) wraps, including a gap longer than a wrap
    t_us = np.sort(rng.integers(0, 60_000_000, n))
    t_us[n // 2:] += 20_000_000
    y = rng.integers(0, 720, n)
    x = rng.integers(0, 1268, n)
    p = rng.integers(0, 2, n)
    # add runs that the encoder turns into VECT_12 groups (same t, y, p; increasing x)
    t_us[100:106] = t_us[100]
    y[100:106] = 7
    p[100:106] = 1
    x[100:106] = [500, 501, 503, 506, 510, 511]
    tt = np.sort(rng.integers(0, 80_000_000, 20)) * 1000
    ti = rng.integers(0, 16, 20)
    te = rng.integers(0, 2, 20)
    payload = encode_evt3(x, y, p, t_us * 1000, trig_t_ns=tt, trig_id=ti, trig_edge=te)
    words = np.frombuffer(payload, '<u2')
    assert np.any(words >> 12 == 4)
    d = StreamDecoder().decode('evt3', np.frombuffer(payload, np.uint8), 1280, 720)
    assert np.array_equal(d.x, x) and np.array_equal(d.y, y) and np.array_equal(d.p, p)
    assert np.array_equal(d.t_ns, t_us * 1000)
    assert np.array_equal(d.trig_t_ns, tt) and np.array_equal(d.trig_id, ti)
    assert np.array_equal(d.trig_edge, te)
    # the reference encoder writes the same words (triggers merged first on equal times)
    t_all = np.concatenate([tt // 1000, t_us])
    order = np.argsort(t_all, kind='stable')
    cat = lambda a, b: np.concatenate([a, b])[order]  # noqa: E731
    zeros = np.zeros(20, np.int64)
    ref_words = ref.evt3_encode_ref(
        cat(zeros, x), cat(zeros, y), cat(te, p), t_all[order], cat(zeros + 1, 0 * x),
        cat(ti, 0 * x), new_evt3_encoder_state(), True)
    assert np.array_equal(words, ref_words)


def test_encode_evt3_stream_over_packets_and_time_continuity():
    rng = np.random.default_rng(2)
    x, y, p, t = random_events(rng, 3000, dt_max_us=20_000)   # ~30 s: crosses a wrap
    state = new_evt3_encoder_state()
    dec = StreamDecoder()
    out = []
    for sl in np.array_split(np.arange(3000), 7):
        payload = encode_evt3(x[sl], y[sl], p[sl], t[sl], state=state, vectorize=False)
        out.append(dec.decode('evt3', np.frombuffer(payload, np.uint8), 640, 480).t_ns.copy())
    assert np.array_equal(np.concatenate(out), t)
    with pytest.raises(ValueError):
        encode_evt3(x[:2], y[:2], p[:2], t[:2], state=state)   # back in time
    with pytest.raises(ValueError):
        encode_evt3([1], [2], [3], [4])
    with pytest.raises(ValueError):
        encode_evt3([1, 2], [2, 2], [0, 1], [5000, 4000])
    with pytest.raises(ValueError):   # a gap of centuries would need ~1e9 TIME_HIGH words
        encode_evt3([1, 2], [2, 2], [0, 1], [0, 2 ** 62])


def test_evt3_kernel_matches_reference_on_random_words():
    rng = np.random.default_rng(3)
    defined = np.array([0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15])
    for _ in range(20):
        n = int(rng.integers(1, 3000))
        codes = rng.choice(defined, n)
        words = ((codes << 12) | rng.integers(0, 4096, n)).astype(np.uint16)
        st = ref_state(640, 480)
        st_ref = st.copy()
        r = ref.evt3_decode_ref(words, st_ref)
        out = ec._alloc(12 * n + 12, n)
        counters = np.zeros(ec.C_SIZE, np.int64)
        stop, bad = ec.evt3_decode_kernel(words, 0, st, *out, counters)
        n_cd, n_trig, n_oob, back = counters[:4]
        assert (stop, bad, n_oob, back) == (n, -1, r[7], r[8])
        for got, want, k in zip(out, r[:7], (n_cd,) * 4 + (n_trig,) * 3):
            assert np.array_equal(got[:k], np.asarray(want, got.dtype))
        assert np.array_equal(st, st_ref)
        # the same words through the fused decode+bin kernel give reference binning
        for refractory in (0, 150_000):
            binner = EventBinner(640, 480, 100_000, 40, 30, refractory_ns=refractory,
                                 roi=(5, 7, 600, 400))
            dec = StreamDecoder(time_backwards_tolerance_ns=1 << 62)
            if n_oob:
                with pytest.raises(OutOfRangeError):
                    binner.decode_bin_evt3(dec, words.view(np.uint8))
                continue
            batch, trig = binner.decode_bin_evt3(dec, words.view(np.uint8))
            idx, steps, n_steps, t0 = ref.bin_events_ref(
                *r[:4], 640, 480, 100_000, 40, 30, 2, (5, 7, 600, 400), refractory, 0, 1)
            assert np.array_equal(batch.indices, idx)
            assert np.array_equal(batch.step_offsets, steps)
            assert (batch.n_steps, batch.t0_ns) == (n_steps, t0)
            assert np.array_equal(trig.trig_t_ns, r[4])


def test_evt3_time_high_wrap_and_noise():
    th = lambda v: 0x8000 | v  # noqa: E731
    tl = lambda v: 0x6000 | v  # noqa: E731
    ax = 0x2000 | 5
    words = np.array([th(4095), tl(10), 0x0003, ax,
                      th(0), tl(20), ax,                 # wrap: +2**24 us
                      th(5), tl(0), ax,                  # forward
                      th(1), tl(0), ax], np.uint16)      # 4 back: noise, clamped
    d = StreamDecoder(time_backwards_tolerance_ns=20_000_000).decode(
        'evt3', words.view(np.uint8), 640, 480)
    us = d.t_ns // 1000
    assert list(us) == [4095 << 12 | 10, (1 << 24) | 20, (1 << 24) | 5 << 12,
                        (1 << 24) | 5 << 12]
    with pytest.raises(TimeBackwardsError):
        StreamDecoder(time_backwards_tolerance_ns=1000).decode('evt3', words.view(np.uint8),
                                                               640, 480)


def test_evt3_events_before_valid_time_are_skipped():
    words = np.array([0x0001, 0x2002, 0x8000, 0x2003, 0x6005, 0x0004, 0x2006], np.uint16)
    d = StreamDecoder().decode('evt3', words.view(np.uint8), 640, 480)
    assert list(d.x) == [6] and list(d.y) == [4] and list(d.t_ns) == [5000]


def test_evt3_big_endian_payload():
    rng = np.random.default_rng(4)
    payload = np.frombuffer(encode_evt3(*random_events(rng, 500)), np.uint8)
    swapped = payload.view('<u2').byteswap().view(np.uint8)
    a = StreamDecoder().decode('evt3', payload, 640, 480)
    ax = a.x.copy()
    b = StreamDecoder().decode('evt3', swapped, 640, 480, is_bigendian=True)
    assert np.array_equal(ax, b.x)


# ------------------------------------------------------------------ libcaer / mono / trigger
def libcaer_bytes(x, y, p, ts, big=False):
    """Pack libcaer polarity events."""
    e = '>' if big else '<'
    rec = np.empty(len(x), [('data', e + 'u4'), ('ts', e + 'i4')])
    rec['data'] = (np.asarray(x, np.uint32) << 17) | (np.asarray(y, np.uint32) << 2) | (
        np.asarray(p, np.uint32) << 1) | 1
    rec['ts'] = ts
    return rec.view(np.uint8)


def lc_state(width, height):
    """Return a fresh libcaer state for the reference."""
    st = np.zeros(ec.LC_STATE_SIZE, np.int64)
    st[ec.LC_T_LAST] = np.iinfo(np.int64).min
    st[ec.LC_WIDTH], st[ec.LC_HEIGHT] = width, height
    return st


def test_libcaer_wrap_within_and_across_packets():
    top = 2 ** 31 - 1
    base = 1_700_000_000_000_000_000
    packets = [([1, 2, 3, 4], [5, 6, 7, 8], [0, 1, 0, 1], [top - 20, top - 5, 3, 10]),
               ([9, 9], [1, 2], [0, 1], [top - 1, 2])]   # second wrap: across the packet
    dec = StreamDecoder()
    st = lc_state(346, 260)
    got = []
    for x, y, p, ts in packets:
        d = dec.decode('libcaer', libcaer_bytes(x, y, p, ts), 346, 260, base)
        assert list(d.x) == x and list(d.y) == y and list(d.p) == p
        data = (np.array(x) << 17) | (np.array(y) << 2) | (np.array(p) << 1) | 1
        r = ref.libcaer_decode_ref(data, np.array(ts), base, st)
        assert list(d.t_ns) == r[3]
        got += list(d.t_ns)
    w = 2 ** 31
    assert got == [base + (top - 20) * 1000, base + (top - 5) * 1000, base + (w + 3) * 1000,
                   base + (w + 10) * 1000, base + (w + top - 1) * 1000,
                   base + (2 * w + 2) * 1000]
    # a new time_base restarts the wrap count (the driver folded the wraps into it)
    c = dec.decode('libcaer', libcaer_bytes([0], [0], [1], [5]), 346, 260, base + 3 * w * 1000)
    assert int(c.t_ns[0]) == base + 3 * w * 1000 + 5000
    # a negative timestamp is corrupt; the stream state stays as it was
    with pytest.raises(AdapterError):
        dec.decode('libcaer', libcaer_bytes([0, 1], [0, 0], [1, 1], [6, -3]), 346, 260,
                   base + 3 * w * 1000)
    assert dec.last_t_ns == base + 3 * w * 1000 + 5000


def test_libcaer_kernel_matches_reference_and_big_endian():
    rng = np.random.default_rng(5)
    for big in (False, True):
        n = 2000
        x, y, p = rng.integers(0, 346, n), rng.integers(0, 260, n), rng.integers(0, 2, n)
        ts = (np.cumsum(rng.integers(0, 5_000_000, n)) % 2 ** 31).astype(np.int64)
        dec = StreamDecoder(time_backwards_tolerance_ns=1 << 62)
        d = dec.decode('libcaer', libcaer_bytes(x, y, p, ts, big), 346, 260, 123,
                       is_bigendian=big)
        data = (x.astype(np.int64) << 17) | (y << 2) | (p << 1) | 1
        r = ref.libcaer_decode_ref(data, ts, 123, lc_state(346, 260))
        assert np.array_equal(d.x, r[0]) and np.array_equal(d.y, r[1])
        assert np.array_equal(d.p, r[2]) and np.array_equal(d.t_ns, r[3])
        assert np.all(np.diff(d.t_ns) >= 0)


def packed_words(x, y, p, off):
    """Pack mono/trigger 64-bit words."""
    return ((np.asarray(p, np.uint64) << np.uint64(63)) | (np.asarray(y, np.uint64)
            << np.uint64(48)) | (np.asarray(x, np.uint64) << np.uint64(32))
            | np.asarray(off, np.uint64))


def test_mono_and_trigger_match_reference():
    rng = np.random.default_rng(6)
    n = 500
    x, y, p = rng.integers(0, 640, n), rng.integers(0, 480, n), rng.integers(0, 2, n)
    off = np.sort(rng.integers(0, 2 ** 32, n))
    words = packed_words(x, y, p, off)
    for enc, is_trig in (('mono', False), ('trigger', True)):
        for big in (False, True):
            payload = words.astype('>u8' if big else '<u8').view(np.uint8)
            d = StreamDecoder().decode(enc, payload, 640, 480, 10 ** 18, is_bigendian=big)
            st = np.zeros(ec.PK_STATE_SIZE, np.int64)
            st[ec.PK_T_LAST] = np.iinfo(np.int64).min
            st[ec.PK_WIDTH], st[ec.PK_HEIGHT] = 640, 480
            r = ref.packed64_decode_ref(words, 10 ** 18, st, is_trig)
            if is_trig:
                assert d.size == 0
                assert np.array_equal(d.trig_t_ns, r[3]) and np.array_equal(d.trig_id, r[0])
                assert np.array_equal(d.trig_edge, r[2])
            else:
                assert np.array_equal(d.x, r[0]) and np.array_equal(d.y, r[1])
                assert np.array_equal(d.p, r[2]) and np.array_equal(d.t_ns, r[3])
    assert list(d.trig_t_ns[:1]) == [10 ** 18 + int(off[0])]


# ------------------------------------------------------------------------------- bad input
def valid_evt3(rng, n=300, t0_us=1000):
    """Return a valid EVT3 payload."""
    return np.frombuffer(encode_evt3(*random_events(rng, n, t0_us=t0_us)), np.uint8)


@pytest.mark.parametrize('bad, error', [
    (dict(encoding='evt4'), UnknownEncodingError),
    (dict(encoding=None), UnknownEncodingError),
    (dict(events=np.zeros(3, np.uint8)), TruncatedBufferError),
    (dict(encoding='libcaer', events=np.zeros(12, np.uint8)), TruncatedBufferError),
    (dict(width=0), GeometryError),
    (dict(height=5000), GeometryError),
    (dict(width='640'), GeometryError),
    (dict(width=100), OutOfRangeError),
    (dict(time_base=-1), OutOfRangeError),
    (dict(events='abc'), ShapeError),
    (dict(events=[1, 2, 300, 4]), ShapeError),
    (dict(events=np.zeros((2, 2), np.uint8)), ShapeError),
    (dict(events=np.array([0x00, 0x10], np.uint8)), AdapterError),   # undefined code 1
])
def test_bad_packets_raise_specific_errors_and_are_counted(bad, error):
    rng = np.random.default_rng(7)
    fields = dict(events=valid_evt3(rng), encoding='evt3', width=640, height=480, time_base=0)
    fields.update(bad)
    adapter = EventCameraAdapter(EventCameraConfig(max_width=2048, max_height=2048))
    with pytest.raises(error):
        adapter.process(packet(**fields))
    assert adapter.counters.rejected == 1 and adapter.counters.decoded == 0
    assert adapter.counters.by_reason[error.reason] == 1


def test_missing_field_is_a_shape_error():
    adapter = EventCameraAdapter()
    with pytest.raises(ShapeError):
        adapter.process(SimpleNamespace(encoding='evt3', width=10, height=10))


def assert_batches_equal(a: SpikeBatch, b: SpikeBatch) -> None:
    """Assert two batches are identical."""
    assert np.array_equal(a.indices, b.indices)
    assert np.array_equal(a.step_offsets, b.step_offsets)
    assert (a.n_steps, a.t0_ns, a.dt_ns, a.population_size) == (
        b.n_steps, b.t0_ns, b.dt_ns, b.population_size)


@pytest.mark.parametrize('fused', [True, False])
def test_rejected_packet_leaves_stream_state_unchanged(fused):
    rng = np.random.default_rng(8)
    cfg = EventCameraConfig(out_width=32, out_height=24, refractory_ns=2_000_000,
                            time_backwards_tolerance_ns=10_000)
    state = new_evt3_encoder_state()
    x, y, p, t = random_events(rng, 2000, dt_max_us=40)
    good = [np.frombuffer(encode_evt3(x[s], y[s], p[s], t[s], state=state), np.uint8)
            for s in np.array_split(np.arange(2000), 4)]
    # bad packets: out of range, undefined word after valid events, time far back
    oob = np.frombuffer(encode_evt3([700], [3], [1], [int(t[-1]) + 5000]), np.uint8)
    corrupt = np.concatenate([good[1][:40], np.array([0x00, 0xB0], np.uint8)])
    back = np.frombuffer(encode_evt3([1], [1], [1], [1000]), np.uint8)
    clean = EventCameraAdapter(cfg, fused=fused)
    noisy = EventCameraAdapter(cfg, fused=fused)
    for k, payload in enumerate(good):
        want = clean.process(packet(payload))
        if k == 1:
            for bad in (oob, corrupt, back):
                with pytest.raises(AdapterError):
                    noisy.process(packet(bad))
            with pytest.raises(GeometryError):
                noisy.process(packet(payload, width=1280, height=720))
            with pytest.raises(UnknownEncodingError):
                noisy.process(packet(np.zeros(8, np.uint8), encoding='mono'))
        assert_batches_equal(noisy.process(packet(payload)), want)
    assert noisy.counters.rejected == 5
    assert noisy.counters.by_reason['time_backwards'] == 1
    assert noisy.counters.by_reason['geometry'] == 1


def test_time_backwards_across_packets_mono():
    words = packed_words([1, 2], [1, 1], [0, 1], [0, 10])
    adapter = EventCameraAdapter(EventCameraConfig(time_backwards_tolerance_ns=1_000))
    adapter.process(packet(words.view(np.uint8), 'mono', time_base=1_000_000))
    with pytest.raises(TimeBackwardsError):
        adapter.process(packet(words.view(np.uint8), 'mono', time_base=990_000))
    # within tolerance: clamped, monotonic
    batch = adapter.process(packet(words.view(np.uint8), 'mono', time_base=999_500))
    assert batch.t0_ns == 1_000_000 and adapter.decoder.last_t_ns == 1_000_010
    assert adapter.counters.as_dict()['rejected_time_backwards'] == 1


def test_adapter_trigger_packets_and_empty_packets():
    adapter = EventCameraAdapter()
    words = packed_words([0], [3], [1], [7])   # trigger: channel id in bits 48..55
    batch = adapter.process(packet(words.view(np.uint8), 'trigger', time_base=5_000_000))
    assert batch.indices.size == 0 and batch.n_steps == 0 and batch.t0_ns == 5_000_000
    assert list(adapter.last_events.trig_id) == [3]
    assert adapter.process(packet(np.zeros(0, np.uint8), 'trigger')).indices.size == 0


def test_adapter_geometry_roi_polarity_and_refractory():
    # one pixel firing every 0.1 ms for 10 ms; 1 ms steps; 3 ms refractory
    t = np.arange(100) * 100_000 + 1_000_000
    payload = np.frombuffer(encode_evt3(np.full(100, 330), np.full(100, 250),
                                        np.arange(100) % 2, t), np.uint8)
    cfg = EventCameraConfig(out_width=4, out_height=4, roi_x=320, roi_y=240, roi_width=16,
                            roi_height=16, refractory_ns=3_000_000)
    batch = EventCameraAdapter(cfg).process(packet(payload))
    plane = 16
    # x 330 -> (330 - 320) * 4 // 16 = 2; y 250 -> 2 -> index 2 * 4 + 2 = 10 (+ plane if ON)
    assert set(batch.indices.tolist()) <= {10, 10 + plane}
    assert batch.n_steps == 10 and batch.t0_ns == 1_000_000
    on = batch.step_offsets[batch.indices == 10 + plane]
    assert np.all(np.diff(on) >= 3)
    merged = EventCameraAdapter(EventCameraConfig(out_width=4, out_height=4, roi_x=320,
                                                  roi_y=240, roi_width=16, roi_height=16,
                                                  polarity_channels=1)).process(packet(payload))
    assert list(merged.indices) == [10] * 10 and list(merged.step_offsets) == list(range(10))
    outside = EventCameraAdapter(EventCameraConfig(out_width=4, out_height=4, roi_width=16,
                                                   roi_height=16)).process(packet(payload))
    assert outside.indices.size == 0 and outside.n_steps == 10


def test_hot_pixel_filter():
    t = np.arange(50) * 10_000 + 1_000_000
    x = np.where(np.arange(50) % 5 == 0, 100, 7)   # pixel 7 is hot, pixel 100 is not
    payload = np.frombuffer(encode_evt3(x, np.zeros(50, int), np.ones(50, int), t), np.uint8)
    cfg = EventCameraConfig(out_width=640, out_height=480, dt_ns=10_000,
                            hot_pixel_max_events=5, hot_pixel_window_ns=1_000_000_000)
    batch = EventCameraAdapter(cfg).process(packet(payload))
    on = 640 * 480
    assert int(np.count_nonzero(batch.indices == on + 7)) == 5
    assert int(np.count_nonzero(batch.indices == on + 100)) == 5


def test_max_steps_per_packet():
    payload = np.frombuffer(encode_evt3([1, 2], [1, 1], [0, 0], [0, 5_000_000]), np.uint8)
    adapter = EventCameraAdapter(EventCameraConfig(dt_ns=1000, max_steps_per_packet=100))
    with pytest.raises(OutOfRangeError):
        adapter.process(packet(payload))
    assert adapter.decoder.last_t_ns is None


@pytest.mark.parametrize('kw', [dict(dt_ns=0), dict(polarity_channels=3), dict(out_width=0),
                                dict(roi_width=10, out_width=64), dict(max_width=0),
                                dict(roi_x=2040, roi_width=64), dict(dt_ns=1.5),
                                dict(refractory_ns=-1), dict(hot_pixel_window_ns=0)])
def test_config_validation(kw):
    with pytest.raises(ConfigError):
        EventCameraConfig(**kw)


def test_adapter_reset_and_n_channels():
    cfg = EventCameraConfig(out_width=34, out_height=34)
    adapter = EventCameraAdapter(cfg)
    assert adapter.n_channels == 2 * 34 * 34
    rng = np.random.default_rng(9)
    adapter.process(packet(valid_evt3(rng, t0_us=5_000_000)))
    adapter.reset()
    batch = adapter.process(packet(valid_evt3(rng, t0_us=1000), width=1280, height=720))
    assert batch.t0_ns < 5_000_000_000 and adapter.counters.decoded == 2


def test_payload_types_of_rclpy_and_rosbags():
    import array
    rng = np.random.default_rng(10)
    payload = valid_evt3(rng)
    want = EventCameraAdapter().process(packet(payload))
    for events in (bytes(payload), bytearray(payload), array.array('B', payload.tobytes()),
                   memoryview(payload.tobytes()), payload.tolist()):
        assert_batches_equal(EventCameraAdapter().process(packet(events)), want)
