"""Property tests: random arrays and field values to the encoders and the biosignal adapter.

Every input gives a valid SpikeBatch or an AdapterError, never another exception. About 200
examples each by default; the ``slow`` variants run 10,000.
"""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given, HealthCheck, settings, strategies as st
from hypothesis.extra import numpy as hnp
import numpy as np
import pytest

from snn_ros.adapters.array import ArrayAdapter, ArrayConfig
from snn_ros.adapters.biosignal import BiosignalAdapter, BiosignalConfig
from snn_ros.adapters.encoders import BandPassConfig, DeltaConfig, DeltaEncoder, \
    PopulationConfig, PopulationEncoder, RateConfig, RateEncoder

from _adapters import feed

MS = 1_000_000
FAST = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = settings(max_examples=10_000, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

floats = st.floats(allow_nan=True, allow_infinity=True, width=32)
junk = st.one_of(st.none(), st.text(max_size=3), st.integers(-2 ** 70, 2 ** 70), floats,
                 st.lists(st.integers(-3, 3), max_size=3))


def pair(body):
    """Return the default (200) and slow (10,000 examples) property tests of ``body``."""
    fast = FAST(given(st.data())(body))
    slow = pytest.mark.slow(SLOW(given(st.data())(body)))
    return fast, slow


@st.composite
def multiarrays(draw, n_channels, max_samples):
    """Draw a Float32MultiArray-like chunk: valid half the time, else with random faults."""
    faults = draw(st.sets(st.sampled_from(['n', 'c', 'labels', 'ndims', 'strides', 'offset',
                                           'length', 'values', 'junk_data', 'junk_layout']),
                          max_size=3)) if draw(st.booleans()) else set()
    n = draw(st.integers(-2, max_samples + 3)) if 'n' in faults \
        else draw(st.integers(1, max_samples))
    c = draw(st.sampled_from([0, n_channels + 1, -1])) if 'c' in faults else n_channels
    labels = draw(st.sampled_from([('channels', 'time'), ('x', 'y')])) \
        if 'labels' in faults else draw(st.sampled_from([('time', 'channels'), ('', '')]))
    ndims = draw(st.sampled_from([1, 0, 3])) if 'ndims' in faults else 2
    strides = 'wrong' if 'strides' in faults else draw(st.sampled_from(['dense', 'zero']))
    dims = []
    for k in range(ndims):
        size = [n, c, 2][k]
        stride = {'dense': [n * c, c, 1][k], 'zero': 0, 'wrong': 7}[strides]
        dims.append(SimpleNamespace(label=labels[min(k, 1)], size=size, stride=stride))
    offset = draw(st.sampled_from([1, -1, 3])) if 'offset' in faults \
        else draw(st.sampled_from([0, 2]))
    length = max(0, offset + max(n, 0) * max(c, 0))
    if 'length' in faults:
        length = max(0, length + draw(st.sampled_from([1, -1, 5])))
    elements = floats if 'values' in faults else st.floats(-1e4, 1e4, width=32)
    if draw(st.booleans()):
        data = draw(hnp.arrays(np.float32, length, elements=elements))
    else:
        data = draw(st.lists(elements, min_size=length, max_size=length))
    if 'junk_data' in faults:
        data = draw(junk)
    layout = SimpleNamespace(dim=dims, data_offset=offset)
    if 'junk_layout' in faults:
        layout = draw(junk)
    return SimpleNamespace(layout=layout, data=data)


stamps = st.one_of(st.none(), st.none(), st.integers(0, 10 ** 10), st.integers(-2 ** 64, 2 ** 64))


def _biosignal(data):
    enc = data.draw(st.sampled_from(['delta', 'rate']))
    cfg = BiosignalConfig(
        sample_rate_hz=data.draw(st.sampled_from([100.0, 360.0, 4000.0])),
        channel_names=('a', 'b'), max_samples_per_chunk=40, encoding=enc,
        delta=DeltaConfig(data.draw(st.sampled_from([1e-6, 0.1, 10.0]))),
        bandpass=data.draw(st.sampled_from([BandPassConfig(), BandPassConfig(1.0, 40.0)])),
        rate=RateConfig(-1.0, 1.0, 500.0, data.draw(st.sampled_from(['bernoulli', 'regular']))),
        rectify=data.draw(st.booleans()))
    ad = BiosignalAdapter(cfg, data.draw(st.sampled_from([MS, 250_000, 7_777_777])))
    msgs = data.draw(st.lists(multiarrays(2, 40), min_size=1, max_size=4))
    times = data.draw(st.lists(stamps, min_size=len(msgs), max_size=len(msgs)))
    feed(ad, msgs, t_ns=times)


test_biosignal_random, test_biosignal_random_slow = pair(_biosignal)


def _array(data):
    enc = data.draw(st.sampled_from(['delta', 'population']))
    ad = ArrayAdapter(ArrayConfig(expected_length=3, encoding=enc, value_min=-1.0,
                                  value_max=1.0), MS)
    msgs = data.draw(st.lists(st.one_of(multiarrays(3, 1), st.builds(
        lambda d: SimpleNamespace(layout=SimpleNamespace(dim=[], data_offset=0), data=d),
        st.lists(floats, min_size=2, max_size=4))), min_size=1, max_size=4))
    times = data.draw(st.lists(stamps, min_size=len(msgs), max_size=len(msgs)))
    feed(ad, msgs, t_ns=times)


test_array_random, test_array_random_slow = pair(_array)


def _encoders(data):
    n_sig = data.draw(st.integers(1, 4))
    x = data.draw(hnp.arrays(np.float64, (data.draw(st.integers(0, 30)), n_sig),
                             elements=st.floats(allow_nan=True, allow_infinity=False)))
    thr = data.draw(st.floats(1e-300, 1e300))
    delta = DeltaEncoder(n_sig, thr)
    sample, index, state = delta.encode(x)
    assert np.all(np.diff(sample) >= 0) and np.all((index >= 0) & (index < 2 * n_sig))
    assert np.all(sample < max(x.shape[0], 1))
    delta.commit(state)
    assert not np.any(np.isinf(delta.reference))
    pop = PopulationEncoder(PopulationConfig(n_neurons=data.draw(st.integers(2, 9))),
                            np.full(n_sig, -1.0), np.full(n_sig, 1.0))
    for row in x:
        idx = pop.encode(row)
        assert np.all((idx >= 0) & (idx < pop.n_channels)) and np.all(np.diff(idx) > 0)
    for mode in ('bernoulli', 'regular'):
        rate = RateEncoder(RateConfig(-1.0, 1.0, 1e4, mode, seed=3), n_sig, MS)
        steps, idx = rate.encode(np.nan_to_num(x))
        assert np.all(steps < max(x.shape[0], 1)) and np.all(idx < n_sig)
        assert np.all(np.diff(steps) >= 0)
        again = RateEncoder(RateConfig(-1.0, 1.0, 1e4, mode, seed=3), n_sig, MS)
        assert np.array_equal(again.encode(np.nan_to_num(x))[1], idx)


test_encoders_random, test_encoders_random_slow = pair(_encoders)


def _chunking(data):
    """Check that splitting a stream into chunks never changes the spikes."""
    x = data.draw(hnp.arrays(np.float64, (data.draw(st.integers(2, 60)), 2),
                             elements=st.floats(-5, 5)))
    cuts = sorted(set(data.draw(st.lists(st.integers(1, x.shape[0] - 1), max_size=5))))
    cfg = BiosignalConfig(sample_rate_hz=1000.0, channel_names=('a', 'b'),
                          delta=DeltaConfig(0.3), bandpass=BandPassConfig(0.0, 100.0))
    whole = BiosignalAdapter(cfg, MS).process(_chunk(x))
    ad = BiosignalAdapter(cfg, MS)
    parts = [ad.process(_chunk(p)) for p in np.split(x, cuts)]
    t = np.concatenate([p.t0_ns + p.step_offsets.astype(np.int64) * MS for p in parts])
    assert np.array_equal(t, whole.t0_ns + whole.step_offsets.astype(np.int64) * MS)
    assert np.array_equal(np.concatenate([p.indices for p in parts]), whole.indices)


def _chunk(x):
    n, c = x.shape
    dims = [SimpleNamespace(label='time', size=n, stride=n * c),
            SimpleNamespace(label='channels', size=c, stride=c)]
    return SimpleNamespace(layout=SimpleNamespace(dim=dims, data_offset=0),
                           data=x.astype(np.float32).reshape(-1))


test_chunking_invariance, test_chunking_invariance_slow = pair(_chunking)
