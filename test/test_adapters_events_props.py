"""Property tests (hypothesis) of the event-camera decoders, encoder and adapter.

Default runs use about 200 examples per property; the ``slow`` variants run 10,000 each
(``pytest -m slow test/test_adapters_events_props.py``).
"""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given, HealthCheck, settings, strategies as st
import numpy as np
import pytest

from snn_ros.adapters.base import SpikeBatch
from snn_ros.adapters.errors import AdapterError
from snn_ros.adapters.event_camera import EventCameraAdapter, EventCameraConfig
from snn_ros.adapters.event_codecs import encode_evt3, new_evt3_encoder_state, StreamDecoder

FAST = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = settings(max_examples=10_000, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

ENCODINGS = st.sampled_from(['evt3', 'libcaer', 'mono', 'trigger', 'libcaer_cmp', 'EVT3', ''])
CONFIGS = [EventCameraConfig(out_width=34, out_height=34),
           EventCameraConfig(out_width=8, out_height=6, polarity_channels=1, roi_x=3, roi_y=2,
                             roi_width=40, roi_height=30, refractory_ns=5_000,
                             hot_pixel_max_events=3, dt_ns=1000, max_steps_per_packet=100_000,
                             max_width=4096, max_height=4096)]


def payloads(encoding):
    """Return random bytes, biased toward plausible words of ``encoding``."""
    word = {'evt3': 2, 'libcaer_cmp': 2}.get(encoding, 8)
    raw = st.binary(max_size=600)
    aligned = st.integers(0, 60).flatmap(lambda n: st.binary(min_size=n * word,
                                                             max_size=n * word))
    return st.one_of(raw, aligned)


field_values = st.fixed_dictionaries({
    'width': st.one_of(st.integers(-3, 5000), st.sampled_from([640, 1280, 346, 34]),
                       st.none(), st.text(max_size=3), st.floats(0, 1000)),
    'height': st.one_of(st.integers(-3, 5000), st.sampled_from([480, 720, 260, 34]),
                        st.none()),
    'time_base': st.one_of(st.integers(-5, 2 ** 64), st.sampled_from([0, 10 ** 18]),
                           st.none()),
    'is_bigendian': st.one_of(st.booleans(), st.integers(-1, 3), st.none()),
})


def message(encoding, events, fields):
    """Build an EventPacket-like message from hypothesis values."""
    return SimpleNamespace(header=None, seq=0, encoding=encoding, events=events, **fields)


def check_batch(batch, adapter):
    """Assert the invariants of a SpikeBatch."""
    assert isinstance(batch, SpikeBatch)
    assert batch.indices.size == batch.step_offsets.size
    assert batch.population_size == adapter.n_channels
    if batch.indices.size:
        assert int(batch.indices.max()) < adapter.n_channels
        assert int(batch.step_offsets.max()) < batch.n_steps
        assert np.all(np.diff(batch.step_offsets.astype(np.int64)) >= 0)


def run_random_packets(data):
    """Feed a few random packets to fresh adapters: a valid batch or an AdapterError."""
    cfg = data.draw(st.sampled_from(CONFIGS))
    adapters = [EventCameraAdapter(cfg, fused=True), EventCameraAdapter(cfg, fused=False)]
    for _ in range(data.draw(st.integers(1, 4))):
        encoding = data.draw(ENCODINGS)
        raw = data.draw(payloads(encoding))
        as_list = data.draw(st.booleans())
        events = list(raw) if as_list else np.frombuffer(raw, np.uint8)
        fields = data.draw(field_values)
        msg = message(encoding, events, fields)
        results = []
        for adapter in adapters:
            try:
                batch = adapter.process(msg)
            except AdapterError as err:
                results.append(type(err))
                continue
            check_batch(batch, adapter)
            results.append((batch.indices.tolist(), batch.step_offsets.tolist(),
                            batch.n_steps, batch.t0_ns))
        assert results[0] == results[1]   # fused and two-pass agree, errors included
    for adapter in adapters:
        c = adapter.counters
        assert c.received == c.decoded + c.rejected


@FAST
@given(st.data())
def test_random_packets_give_batch_or_adapter_error(data):
    run_random_packets(data)


@pytest.mark.slow
@SLOW
@given(st.data())
def test_random_packets_give_batch_or_adapter_error_long(data):
    run_random_packets(data)


def run_random_decoder_fields(data):
    """Call StreamDecoder directly with random encodings, bytes and geometry."""
    dec = StreamDecoder(data.draw(st.integers(0, 10 ** 12)))
    for _ in range(data.draw(st.integers(1, 3))):
        encoding = data.draw(ENCODINGS)
        raw = np.frombuffer(data.draw(payloads(encoding)), np.uint8)
        width = data.draw(st.integers(-2, 2100))
        height = data.draw(st.integers(-2, 2100))
        try:
            d = dec.decode(encoding, raw, width, height, data.draw(st.integers(-3, 2 ** 62)),
                           data.draw(st.booleans()))
        except AdapterError:
            continue
        assert np.all(d.x < width) and np.all(d.y < height)
        assert np.all(np.diff(d.t_ns) >= 0) and np.all(np.diff(d.trig_t_ns) >= 0)
        assert d.p.size == 0 or int(d.p.max()) <= 1


@FAST
@given(st.data())
def test_random_decoder_input(data):
    run_random_decoder_fields(data)


@pytest.mark.slow
@SLOW
@given(st.data())
def test_random_decoder_input_long(data):
    run_random_decoder_fields(data)


def run_round_trip(data):
    """Encode random events over random packet splits; decode must give them back.

    Hypothesis draws the size, the largest time gap (up to several 24-bit wraps per event),
    the packet split and a seed; numpy draws the events (much faster than drawing lists).
    """
    n = data.draw(st.integers(0, 300))
    gap_us = data.draw(st.sampled_from([1, 3, 100, 5_000, 3_000_000, 40_000_000]))
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1)))
    x, y, p = rng.integers(0, 1280, n), rng.integers(0, 720, n), rng.integers(0, 2, n)
    if data.draw(st.booleans()):   # neighbours in one row and time: VECT_12 material
        y[:] = y[:1] if n else y
        x = np.sort(x)
    t_us = np.cumsum(rng.integers(0, gap_us + 1, n))
    t_us -= t_us[:1].sum()   # start at 0: EVT3 round-trips streams starting below 2**24 us
    vectorize = data.draw(st.booleans())
    n_split = data.draw(st.integers(1, 4))
    state = new_evt3_encoder_state()
    dec = StreamDecoder()
    got = [[], [], [], []]
    for part in np.array_split(np.arange(n), n_split):
        payload = encode_evt3(x[part], y[part], p[part], t_us[part] * 1000, state=state,
                              vectorize=vectorize)
        d = dec.decode('evt3', np.frombuffer(payload, np.uint8), 1280, 720)
        for k, arr in enumerate((d.x, d.y, d.p, d.t_ns)):
            got[k].extend(arr.tolist())
    assert got == [x.tolist(), y.tolist(), p.tolist(), (t_us * 1000).tolist()]


@FAST
@given(st.data())
def test_evt3_encoder_round_trip(data):
    run_round_trip(data)


@pytest.mark.slow
@SLOW
@given(st.data())
def test_evt3_encoder_round_trip_long(data):
    run_round_trip(data)


def run_rejection_isolation(data):
    """Random packets between valid ones never change how the valid ones decode."""
    cfg = EventCameraConfig(out_width=16, out_height=12, refractory_ns=50_000,
                            time_backwards_tolerance_ns=data.draw(st.integers(0, 10 ** 7)))
    fused = data.draw(st.booleans())
    clean, noisy = EventCameraAdapter(cfg, fused=fused), EventCameraAdapter(cfg, fused=fused)
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1)))
    state = new_evt3_encoder_state()
    t0 = 0
    for _ in range(3):
        n = int(rng.integers(0, 200))
        t_us = t0 + np.cumsum(rng.integers(0, 100, n))
        t0 = int(t_us[-1]) if n else t0
        good = np.frombuffer(encode_evt3(rng.integers(0, 640, n), rng.integers(0, 480, n),
                                         rng.integers(0, 2, n), t_us * 1000, state=state),
                             np.uint8)
        for _ in range(data.draw(st.integers(0, 2))):
            encoding = data.draw(st.sampled_from(['evt3', 'evt3', 'mono', 'libcaer',
                                                  'libcaer_cmp']))
            bad = message(encoding, np.frombuffer(data.draw(payloads(encoding)), np.uint8),
                          data.draw(field_values))
            try:
                noisy.process(bad)
            except AdapterError:
                continue
            clean.process(bad)   # it was accepted: both streams must have seen it
        msg = message('evt3', good, dict(width=640, height=480, time_base=0,
                                         is_bigendian=False))
        results = []
        for adapter in (clean, noisy):
            try:
                b = adapter.process(msg)
                results.append((b.indices.tolist(), b.step_offsets.tolist(), b.n_steps,
                                b.t0_ns))
            except AdapterError as err:
                results.append(type(err))
        assert results[0] == results[1]


@FAST
@given(st.data())
def test_rejected_packets_do_not_change_stream_state(data):
    run_rejection_isolation(data)


@pytest.mark.slow
@SLOW
@given(st.data())
def test_rejected_packets_do_not_change_stream_state_long(data):
    run_rejection_isolation(data)


def run_encoder_garbage(data):
    """Check the encoder returns bytes that decode, or raises ValueError, for any input."""
    ints = st.one_of(st.integers(-5, 3000), st.integers(-2 ** 70, 2 ** 70),
                     st.integers(0, 2 ** 63 - 1))
    arrays = st.one_of(st.lists(ints, max_size=20), st.lists(st.floats(), max_size=3),
                       st.text(max_size=3), st.none())
    args = [data.draw(arrays) for _ in range(4)]
    trig = data.draw(st.one_of(st.none(), st.tuples(arrays, arrays, arrays)))
    kw = {} if trig is None else dict(trig_t_ns=trig[0], trig_id=trig[1], trig_edge=trig[2])
    try:
        payload = encode_evt3(*args, **kw)
    except ValueError:
        return
    d = StreamDecoder().decode('evt3', np.frombuffer(payload, np.uint8), 2048, 2048)
    assert d.size == len(args[0])


@FAST
@given(st.data())
def test_encoder_random_input(data):
    run_encoder_garbage(data)


@pytest.mark.slow
@SLOW
@given(st.data())
def test_encoder_random_input_long(data):
    run_encoder_garbage(data)
