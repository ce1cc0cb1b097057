"""Biosignal encoders and adapter: kernels vs references, streaming, bad input, real ECG/EMG."""

from __future__ import annotations

from conftest import shared_data
import numpy as np
import pytest
from scipy.signal import find_peaks

from snn_ros.adapters.bags import make_header, make_multiarray
from snn_ros.adapters.biosignal import BiosignalAdapter, BiosignalConfig
from snn_ros.adapters.encoders import _bernoulli_kernel, _delta_kernel, _population_kernel, \
    _regular_kernel, BandPass, BandPassConfig, bernoulli_reference, config_from_dict, \
    DeltaConfig, DeltaEncoder, delta_reference, population_reference, PopulationConfig, \
    PopulationEncoder, RateConfig, RateEncoder, regular_reference, StepCursor
from snn_ros.adapters.errors import GeometryError, NonFiniteError, OutOfRangeError, \
    ShapeError, TimeBackwardsError
from snn_ros.core.errors import ConfigError

from _adapters import check_batch

MS = 1_000_000
# wfdb's annotation reader uses a pandas keyword that pandas 3.1 deprecates
pytestmark = pytest.mark.filterwarnings('ignore:The inplace keyword')


def spike_times(batches, channels=None):
    """Return the times (ns) of all spikes in ``batches`` (optionally only some channels)."""
    out = []
    for b in batches:
        keep = np.ones(b.indices.size, bool) if channels is None \
            else np.isin(b.indices, channels)
        out.append(b.t0_ns + b.step_offsets[keep].astype(np.int64) * b.dt_ns)
    return np.concatenate(out) if out else np.zeros(0, np.int64)


# ---------------------------------------------------------------- kernels vs references


def test_delta_kernel_matches_reference():
    rng = np.random.default_rng(1)
    x = np.cumsum(rng.normal(0, 0.3, (500, 3)), axis=0)
    x[rng.random(x.shape) < 0.05] = np.nan
    thr = np.array([0.1, 0.25, 1.0])
    ref_a, init_a = np.zeros(3), np.zeros(3, bool)
    ref_b, init_b = np.zeros(3), np.zeros(3, bool)
    out_s, out_i = np.empty(x.size, np.int64), np.empty(x.size, np.int64)
    n = _delta_kernel(x, ref_a, init_a, thr, out_s, out_i)
    s, i = delta_reference(x, ref_b, init_b, thr)
    assert n > 100
    assert out_s[:n].tolist() == s and out_i[:n].tolist() == i
    assert np.array_equal(ref_a, ref_b) and np.array_equal(init_a, init_b)


def test_delta_impulse_exact():
    enc = DeltaEncoder(1, 0.5)
    sample, index, state = enc.encode(np.array([[0.0], [0.25], [1.75], [1.5], [0.0]]))
    # 0 sets the reference; 1.75 crosses 3 levels -> one up spike, ref 1.5; 0.0 -> down, ref 0
    assert sample.tolist() == [2, 4] and index.tolist() == [0, 1]
    assert state[0].tolist() == [0.0]
    assert enc.reference.tolist() == [0.0] and not enc.initialized[0]  # not committed yet
    enc.commit(state)
    assert enc.initialized[0]


def test_rate_kernels_match_reference():
    rng = np.random.default_rng(2)
    p = rng.random((300, 4)) * 0.5
    u = rng.random((300, 4))
    out_s, out_i = np.empty(p.size, np.int64), np.empty(p.size, np.int64)
    n = _bernoulli_kernel(p, u, out_s, out_i)
    s, i = bernoulli_reference(p, u)
    assert out_s[:n].tolist() == s and out_i[:n].tolist() == i
    phase_a, phase_b = np.zeros(4), np.zeros(4)
    n = _regular_kernel(p, phase_a, out_s, out_i)
    s, i = regular_reference(p, phase_b)
    assert out_s[:n].tolist() == s and out_i[:n].tolist() == i
    assert np.array_equal(phase_a, phase_b)


def test_population_kernel_matches_reference():
    rng = np.random.default_rng(3)
    x = rng.uniform(-3, 3, 20)
    x[::7] = np.nan
    lo, hi = np.full(20, -2.0), np.linspace(0.5, 4.0, 20)
    out = np.empty(20 * 9, np.int64)
    n = _population_kernel(x, lo, hi, 9, 0.8, 0.4, out)
    assert out[:n].tolist() == population_reference(x, lo, hi, 9, 0.8, 0.4)


def test_population_place_code():
    enc = PopulationEncoder(PopulationConfig(n_neurons=5, sigma_fraction=0.5, threshold=0.5),
                            np.array([0.0]), np.array([4.0]))
    assert enc.encode(np.array([2.0])).tolist() == [2]
    assert enc.encode(np.array([2.5])).tolist() == [2, 3]
    assert enc.encode(np.array([-10.0])).tolist() == [0]      # clamped to the edge neuron
    assert enc.encode(np.array([np.nan])).tolist() == []
    assert enc.activation(np.array([1.0]))[0, 1] == 1.0


def test_rate_encoder_seeded_and_regular():
    cfg = RateConfig(value_min=0.0, value_max=1.0, max_rate_hz=200.0, seed=7)
    v = np.full((1000, 2), [0.25, 1.0])
    a = RateEncoder(cfg, 2, MS).encode(v)
    b = RateEncoder(cfg, 2, MS).encode(v)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    reg = RateEncoder(RateConfig(max_rate_hz=200.0, mode='regular'), 2, MS).encode(v)
    counts = np.bincount(reg[1], minlength=2)
    assert counts.tolist() == [50, 200]          # 0.25 * 200 Hz and 200 Hz over 1 s


def test_bandpass_state_persists_across_chunks():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2000, 2)) + 3.0
    whole = BandPass(BandPassConfig(1.0, 40.0, 2), 360.0, 2)
    y_whole, _ = whole.filter(x)
    chunked = BandPass(BandPassConfig(1.0, 40.0, 2), 360.0, 2)
    parts = []
    for i in range(0, 2000, 137):
        y, zf = chunked.filter(x[i:i + 137])
        chunked.commit(zf)
        parts.append(y)
    assert np.allclose(np.concatenate(parts), y_whole, rtol=0, atol=1e-12)


def test_step_cursor_tiles():
    c = StepCursor(10)
    assert c.span(5, 25) == (0, 3)
    c.commit(0, 3)
    assert c.span(27, 27) == (3, 1)    # step 2 already emitted -> next free step
    assert c.span(45, 61) == (4, 3)


@pytest.mark.parametrize('kwargs', [
    {'sample_rate_hz': 0.0}, {'channel_names': ()}, {'channel_names': ('a', 'a')},
    {'encoding': 'morse'}, {'thresholds': (0.1,), 'channel_names': ('a', 'b')},
    {'max_samples_per_chunk': 0}, {'time_tolerance_s': -1.0}, {'sample_rate_hz': float('nan')},
])
def test_bad_config_names_field(kwargs):
    with pytest.raises(ConfigError):
        BiosignalConfig(**kwargs)


def test_bad_nested_config():
    with pytest.raises(ConfigError, match='threshold'):
        DeltaConfig(threshold=0.0)
    with pytest.raises(ConfigError, match='low_hz'):
        BandPassConfig(low_hz=50.0, high_hz=10.0)
    with pytest.raises(ConfigError, match='Nyquist'):
        BiosignalAdapter(BiosignalConfig(bandpass=BandPassConfig(0.0, 200.0)), MS)


# ---------------------------------------------------------------- adapter


def _adapter(**kw):
    cfg = dict(sample_rate_hz=1000.0, channel_names=('a', 'b'), delta=DeltaConfig(0.5))
    cfg.update(kw)
    return BiosignalAdapter(BiosignalConfig(**cfg), MS)


def test_chunking_does_not_change_spikes():
    rng = np.random.default_rng(5)
    x = np.cumsum(rng.normal(0, 0.3, (3000, 2)), axis=0)
    for enc in ('delta', 'rate'):
        kw = {'encoding': enc, 'bandpass': BandPassConfig(0.5, 100.0),
              'rate': RateConfig(-5.0, 5.0, 300.0, 'regular')}
        whole = _adapter(**kw).process(make_multiarray(x))
        ad = _adapter(**kw)
        parts = [ad.process(make_multiarray(x[i:i + 250])) for i in range(0, 3000, 250)]
        for b in parts:
            check_batch(b, ad.n_channels)
        assert sum(b.n_steps for b in parts) == whole.n_steps == 3000
        assert np.array_equal(spike_times(parts), spike_times([whole]))
        assert np.array_equal(np.concatenate([b.indices for b in parts]), whole.indices)


def test_stamps_and_sample_rate_place_steps():
    ad = _adapter()
    x = np.zeros((10, 2))
    x[5:] = 1.0                             # up spikes on both channels at sample 5
    b = ad.process(make_multiarray(x), t_ns=1_000 * MS)
    assert b.t0_ns == 1_000 * MS and b.n_steps == 10
    assert b.step_offsets.tolist() == [5, 5] and b.indices.tolist() == [0, 2]
    # no time given: the sample clock continues
    b = ad.process(make_multiarray(np.zeros((4, 2))))
    assert b.t0_ns == 1_010 * MS and b.indices.tolist() == [1, 3]


def test_header_stamp_used_when_present():
    msg = make_multiarray(np.zeros((3, 2)))
    msg.header = make_header(7 * MS)
    assert _adapter().process(msg).t0_ns == 7 * MS


def _bad_messages():
    good = np.zeros((4, 2))
    nan = good.copy()
    nan[1, 1] = np.nan
    inf = good.copy()
    inf[0, 0] = np.inf
    short = make_multiarray(good)
    short.data = short.data[:-1]
    strides = make_multiarray(good)
    strides.layout.dim[1].stride = 3
    swapped = make_multiarray(good, labels=('channels', 'time'))
    one_dim = make_multiarray(good.reshape(-1))
    return [
        (make_multiarray(nan), NonFiniteError), (make_multiarray(inf), NonFiniteError),
        (short, ShapeError), (strides, ShapeError), (swapped, ShapeError),
        (one_dim, ShapeError), (make_multiarray(np.zeros((4, 3))), GeometryError),
        (make_multiarray(np.zeros((0, 2))), ShapeError),
        (make_multiarray(np.zeros((5000, 2))), GeometryError), (object(), ShapeError),
    ]


@pytest.mark.parametrize('case', range(10))
def test_bad_input_rejected_counted_state_kept(case):
    msg, err = _bad_messages()[case]
    rng = np.random.default_rng(6)
    x = np.cumsum(rng.normal(0, 0.5, (200, 2)), axis=0)
    ref, ad = _adapter(max_samples_per_chunk=1000), _adapter(max_samples_per_chunk=1000)
    expected = [ref.process(make_multiarray(x[:100])), ref.process(make_multiarray(x[100:]))]
    got = [ad.process(make_multiarray(x[:100]))]
    with pytest.raises(err):
        ad.process(msg)
    got.append(ad.process(make_multiarray(x[100:])))
    assert ad.counters.rejected == 1 and ad.counters.by_reason[err.reason] == 1
    assert ad.counters.decoded == 2 and ad.counters.received == 3
    for a, b in zip(got, expected):
        assert np.array_equal(a.indices, b.indices) and a.t0_ns == b.t0_ns


def test_time_backwards_beyond_tolerance():
    ad = _adapter(time_tolerance_s=0.002)
    ad.process(make_multiarray(np.zeros((10, 2))), t_ns=100 * MS)       # next sample at 110
    ad.process(make_multiarray(np.zeros((10, 2))), t_ns=109 * MS)       # 1 ms back: ok
    with pytest.raises(TimeBackwardsError):
        ad.process(make_multiarray(np.zeros((10, 2))), t_ns=100 * MS)
    with pytest.raises(OutOfRangeError):
        ad.process(make_multiarray(np.zeros((10, 2))), t_ns=-5)
    assert ad.counters.rejected == 2
    b = ad.process(make_multiarray(np.zeros((10, 2))), t_ns=200 * MS)
    assert b.t0_ns == 200 * MS


# ---------------------------------------------------------------- real recordings


def _run_record(x, fs, chunk, cfg_kwargs, dt_ns):
    cfg = BiosignalConfig(sample_rate_hz=fs, **cfg_kwargs)
    ad = BiosignalAdapter(cfg, dt_ns)
    batches = [ad.process(make_multiarray(x[i:i + chunk])) for i in range(0, len(x), chunk)]
    assert ad.counters.decoded == len(batches) and ad.counters.rejected == 0
    return ad, batches


@pytest.fixture(scope='module')
def mitdb():
    wfdb = pytest.importorskip('wfdb')
    path = shared_data('mitdb-100')
    rec = wfdb.rdrecord(str(path / '100'))
    ann = wfdb.rdann(str(path / '100'), 'atr')
    cfg = {'channel_names': ('MLII', 'V5'), 'delta': DeltaConfig(0.1),
           'bandpass': BandPassConfig(0.5, 40.0, 2)}
    ad, batches = _run_record(rec.p_signal, rec.fs, 360, cfg, MS)
    return rec, ann, ad, batches


def test_mitdb_spike_count_follows_activity(mitdb):
    rec, ann, ad, batches = mitdb
    x = rec.p_signal[:, 0]
    n_s = len(x) // 360
    per_s = np.bincount(spike_times(batches, [0, 1]) // 1_000_000_000, minlength=n_s)[:n_s]
    slope = np.bincount(np.arange(1, len(x)) // 360, weights=np.abs(np.diff(x)))[:n_s]
    energy = np.bincount(np.arange(1, len(x)) // 360, weights=np.diff(x) ** 2)[:n_s]
    r_slope = np.corrcoef(per_s, slope)[0, 1]
    r_energy = np.corrcoef(per_s, energy)[0, 1]
    print(f'MLII spikes/s vs sum|dx| r = {r_slope:.3f}, vs sum dx^2 r = {r_energy:.3f}')
    assert r_slope > 0.8 and r_energy > 0.7
    # QRS windows (+-50 ms of each beat) spike far more than the rest
    beats_ms = (ann.sample[np.isin(ann.symbol, ['N', 'A', 'V'])] * 1000 // 360)
    bins = np.bincount(spike_times(batches, [0, 1]) // MS, minlength=len(x) * 1000 // 360)
    qrs = np.zeros(bins.size, bool)
    for b in beats_ms:
        qrs[max(b - 50, 0):b + 51] = True
    in_qrs, baseline = bins[qrs].mean() * 1000, bins[~qrs].mean() * 1000
    print(f'MLII rate in QRS windows {in_qrs:.1f}/s, baseline {baseline:.1f}/s')
    assert in_qrs > 10 * baseline


def test_mitdb_beats_visible_in_spike_train(mitdb):
    """Spike-density peaks match the cardiologists' beat annotations.

    Rule: MLII up+down spikes in 10 ms bins, summed over a 50 ms sliding window; a burst is a
    local maximum with >= 4 spikes, bursts at least 250 ms apart. A beat (N, A or V annotation;
    2,273 of the 2,274 annotations, the other is a rhythm mark) is detected when a burst lies
    within 150 ms; a burst is true when an annotated beat lies within 150 ms.
    """
    rec, ann, ad, batches = mitdb
    beats = ann.sample[np.isin(ann.symbol, ['N', 'A', 'V'])] * 1_000_000_000 // 360
    assert len(ann.sample) == 2274 and beats.size == 2273
    bins = np.bincount(spike_times(batches, [0, 1]) // (10 * MS))
    density = np.convolve(bins, np.ones(5), 'same')
    peaks, _ = find_peaks(density, height=4, distance=25)
    bursts = peaks * 10 * MS + 5 * MS

    def nearest(a, b):
        j = np.clip(np.searchsorted(b, a), 1, b.size - 1)
        return np.minimum(np.abs(b[j] - a), np.abs(b[j - 1] - a))

    sensitivity = np.mean(nearest(beats, bursts) <= 150 * MS)
    precision = np.mean(nearest(bursts, beats) <= 150 * MS)
    print(f'beats {beats.size}, bursts {bursts.size}, sensitivity {sensitivity:.4f}, '
          f'precision {precision:.4f}')
    assert sensitivity >= 0.95 and precision >= 0.95


@pytest.fixture(scope='module')
def emgdb():
    wfdb = pytest.importorskip('wfdb')
    path = shared_data('emgdb')
    out = {}
    for name in ('emg_healthy', 'emg_myopathy', 'emg_neuropathy'):
        rec = wfdb.rdrecord(str(path / name))
        cfg = {'channel_names': ('emg',), 'delta': DeltaConfig(0.05),
               'bandpass': BandPassConfig(20.0, 1000.0, 2)}
        _, batches = _run_record(rec.p_signal, rec.fs, 400, cfg, 250_000)
        out[name] = (rec.p_signal[:, 0], spike_times(batches))
    return out


def test_emg_rate_follows_activity_and_differs_by_record(emgdb):
    rates = {}
    for name, (x, t) in emgdb.items():
        n_w = len(x) // 400                       # 100 ms windows
        count = np.bincount(t // (100 * MS), minlength=n_w)[:n_w]
        rms = np.sqrt(np.bincount(np.arange(len(x)) // 400, weights=x ** 2)[:n_w] / 400)
        r = np.corrcoef(count, rms)[0, 1]
        active = rms > np.median(rms)
        rates[name] = t.size / (len(x) / 4000)
        print(f'{name}: {rates[name]:.0f} spikes/s, r(count, rms) = {r:.3f}, active '
              f'{count[active].mean():.1f} vs quiet {count[~active].mean():.1f} per 100 ms')
        assert r > 0.5
        assert count[active].mean() > 1.1 * count[~active].mean()
    ordered = sorted(rates.values())
    assert all(b > 1.15 * a for a, b in zip(ordered, ordered[1:]))


def test_config_from_yaml_mapping():
    cfg = config_from_dict(BiosignalConfig, {
        'sample_rate_hz': 250, 'channel_names': ['Fz', 'Cz'], 'delta.threshold': 0.02,
        'bandpass': {'low_hz': 1.0, 'high_hz': 40.0}})
    assert cfg.channel_names == ('Fz', 'Cz') and cfg.delta.threshold == 0.02
    assert cfg.bandpass.high_hz == 40.0 and cfg.rate == RateConfig()
    with pytest.raises(ConfigError, match='valid are'):
        config_from_dict(BiosignalConfig, {'sample_rate': 250})
    with pytest.raises(ConfigError, match='threshold'):
        config_from_dict(BiosignalConfig, {'delta': {'threshold': -1}})
