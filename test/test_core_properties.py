"""Hypothesis properties: bounded weights and thresholds, finite state, binary spikes, seeds."""

from __future__ import annotations

from hypothesis import given, HealthCheck, settings, strategies as st
import numpy as np
import pytest

from snn_ros.core import ConfigError, InputError, Network, NetworkConfig
from snn_ros.core.params import apply, describe

SETTINGS = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def config_for(reset, dale, mode, feedback, w_max, lr):
    return NetworkConfig.from_dict({
        'n_inputs': 30,
        'neuron': {'reset': reset, 'refractory_steps': 1, 'homeo_tau_s': 0.05},
        'layers': {'n_hidden': 16, 'block_size': 4, 'w_input': 0.5, 'p_input': 0.4,
                   'dale': dale, 'p_rewire_rec': 0.2},
        'readout': {'n_classes': 3, 'pop_size': 2},
        'modulation': {'mode': mode, 'feedback': feedback, 'n_populations': 4, 'fan_in': 2},
        'plasticity': {'w_max': w_max, 'lr_hidden': lr, 'lr_readout': lr}})


@SETTINGS
@given(seed=st.integers(0, 2**31), reset=st.sampled_from(['zero', 'subtract']),
       dale=st.booleans(), mode=st.sampled_from(['populations', 'direct']),
       feedback=st.sampled_from(['random', 'symmetric']),
       w_max=st.floats(0.2, 2.0), lr=st.floats(0.0, 0.5), rate=st.floats(0.0, 0.6))
def test_state_stays_bounded_and_finite(seed, reset, dale, mode, feedback, w_max, lr, rate):
    cfg = config_for(reset, dale, mode, feedback, w_max, lr)
    net = Network(cfg, seed)
    rng = np.random.default_rng(seed)
    for t in range(60):
        spikes = net.step(np.nonzero(rng.random(30) < rate)[0])
        assert spikes.size == np.unique(spikes).size
        for g in net.groups:
            assert set(np.unique(g.spiked).tolist()) <= {0, 1}
        if t % 7 == 0:
            net.teach(int(rng.integers(0, 3)))
        if t % 11 == 0:
            net.reward(float(rng.normal()))
    arrays = net.state_arrays()
    for name, a in arrays.items():
        if a.dtype.kind == 'f':
            assert np.all(np.isfinite(a)), name
    for name, w in net.weights().items():
        assert np.all(np.isfinite(w)), name
        assert np.all(np.abs(w) <= w_max + 1e-12)
    for g in net.groups:
        assert g.theta.min() >= cfg.neuron.theta_min
        assert g.theta.max() <= cfg.neuron.theta_max


@SETTINGS
@given(seed=st.integers(0, 2**31))
def test_same_seed_same_result(seed):
    cfg = config_for('zero', True, 'populations', 'random', 1.0, 0.05)
    nets = [Network(cfg, seed), Network(cfg, seed)]
    rng = np.random.default_rng(seed)
    for t in range(40):
        inp = np.nonzero(rng.random(30) < 0.3)[0]
        a, b = (n.step(inp) for n in nets)
        assert np.array_equal(a, b)
        if t % 5 == 0:
            for n in nets:
                n.teach(t % 3)
    sa, sb = (n.state_arrays() for n in nets)
    assert all(np.array_equal(sa[k], sb[k]) for k in sa)


@SETTINGS
@given(bad=st.one_of(
    st.lists(st.integers(-1000, 1000), min_size=1).filter(
        lambda v: min(v) < 0 or max(v) >= 30).map(np.array),
    st.lists(st.floats(allow_nan=True), min_size=1).map(np.array),
    st.text(min_size=1)))
def test_malformed_input_raises_clear_error_and_keeps_state(bad):
    cfg = config_for('zero', False, 'populations', 'random', 1.0, 0.01)
    net = Network(cfg, 0)
    net.step([1, 2, 3])
    before = net.state_arrays()
    with pytest.raises(InputError):
        net.step(bad)
    after = net.state_arrays()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    net.step([4])


NUMERIC = [s for s in describe(NetworkConfig) if s.min is not None and s.type in ('int', 'float')]


@SETTINGS
@given(spec=st.sampled_from(NUMERIC), side=st.sampled_from(['low', 'high']))
def test_out_of_range_values_rejected_naming_the_field(spec, side):
    if side == 'low':
        value = spec.min - (1 if spec.type == 'int' else max(abs(spec.min), 1.0))
    else:
        if spec.max is None or spec.max == float('inf'):
            return
        value = spec.max + (1 if spec.type == 'int' else max(abs(spec.max), 1.0))
    with pytest.raises(ConfigError, match=spec.name.replace('.', r'\.')):
        apply(NetworkConfig(), {spec.name: value})
