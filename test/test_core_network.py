"""Network behaviour: event-driven vs every-step rule, API, input errors, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from snn_ros.core import ConfigError, InputError, Network, NetworkConfig
from snn_ros.core.reference import ReferenceProjection


def small_config(**over) -> NetworkConfig:
    """Return a tiny network config whose weights stay far from the bounds."""
    base = {'n_inputs': 50,
            'layers': {'n_hidden': 32, 'block_size': 8, 'w_input': 0.3, 'p_input': 0.3,
                       'w_ff': 0.01},
            'readout': {'n_classes': 3, 'pop_size': 2, 'w_readout': 0.01},
            'plasticity': {'lr_hidden': 1e-4, 'lr_readout': 1e-4}}
    for key, value in over.items():
        base.setdefault(key, {}).update(value) if isinstance(value, dict) else base.update(
            {key: value})
    return NetworkConfig.from_dict(base)


def drive(nets, n_steps, seed=0, teach_every=20, n_inputs=50):
    rng = np.random.default_rng(seed)
    outs = []
    for t in range(n_steps):
        inp = np.nonzero(rng.random(n_inputs) < 0.1)[0]
        outs.append([n.step(inp) for n in nets])
        if t % teach_every == 0:
            for n in nets:
                n.teach(t % n.n_classes)
    return outs


@pytest.mark.parametrize('over', [{}, {'neuron': {'reset': 'subtract', 'refractory_steps': 1}},
                                  {'modulation': {'mode': 'direct'}},
                                  {'readout': {'delta_rule': False}},
                                  {'plasticity': {'elig_v_fraction': 0.5}}])
def test_event_driven_network_equals_every_step_reference(over):
    cfg = small_config(**over)
    fast = Network(cfg, 1)
    slow = Network(cfg, 1, projection_factory=ReferenceProjection)
    for t, (a, b) in enumerate(drive([fast, slow], 300)):
        assert np.array_equal(a, b), f'readout spikes differ at step {t}'
    wa, wb = fast.weights(), slow.weights()
    for name in wa:
        np.testing.assert_allclose(wa[name], wb[name], rtol=1e-9, atol=1e-12)
    sa, sb = fast.state_arrays(), slow.state_arrays()
    for k in range(len(fast.groups)):
        np.testing.assert_allclose(sa[f'group{k}/v'], sb[f'group{k}/v'], rtol=1e-9,
                                   atol=1e-12)
        assert np.array_equal(sa[f'group{k}/theta'], sb[f'group{k}/theta'])


@pytest.mark.parametrize('batch', [False, True])
def test_readout_neurons_have_their_own_time_constant_and_reset(batch):
    """``readout.tau_mem_s`` / ``readout.reset`` act on the readout group only."""
    cfg = small_config(readout={'n_classes': 3, 'pop_size': 2, 'w_readout': 0.0,
                                'tau_mem_s': 0.1, 'reset': 'subtract'},
                       neuron={'homeostasis': False}, plasticity={'learning': False})
    net = Network(cfg, 0)
    hid, ro = net.groups[0], net.groups[net.readout_group]
    hid.v[:] = 0.5
    ro.v[:] = [0.5, 0.5, 0.5, 0.5, 3.0, 3.0]
    if batch:
        net.run_flat(np.zeros(0, np.int64), np.zeros(0, np.int64), 1)
    else:
        net.step([])
    a_hid, a_ro = np.exp(-1e-3 / 0.02), np.exp(-1e-3 / 0.1)
    assert [q.alpha for q in net.group_params] == pytest.approx(
        [a_hid] * net.readout_group + [a_ro], rel=1e-12)
    assert hid.v[0] == pytest.approx(0.5 * a_hid, rel=1e-12)   # no input reaches layer 1
    np.testing.assert_allclose(ro.v[:4], 0.5 * a_ro, rtol=1e-12)
    np.testing.assert_allclose(ro.v[4:], 3.0 * a_ro - 1.0, rtol=1e-12)  # spiked, subtracted
    same = Network(small_config(readout={'tau_mem_s': 0.02, 'reset': 'zero'}), 3)
    default = Network(small_config(), 3)
    for a, b in drive([same, default], 100):
        assert np.array_equal(a, b)


@pytest.mark.parametrize('batch', [False, True])
def test_readout_neurons_have_their_own_homeostatic_target(batch):
    """``readout.target_rate_hz`` sets the readout's threshold step; hidden ones keep theirs."""
    cfg = small_config(readout={'n_classes': 3, 'pop_size': 2, 'w_readout': 0.0,
                                'target_rate_hz': 2.0},
                       neuron={'target_rate_hz': 50.0, 'homeo_tau_s': 1.0},
                       plasticity={'learning': False})
    net = Network(cfg, 0)
    hid, ro = net.groups[0], net.groups[net.readout_group]
    ro.v[:] = [0.0, 0.0, 0.0, 0.0, 0.0, 3.0]
    theta_hid, theta_ro = hid.theta.copy(), ro.theta.copy()
    if batch:
        net.run_flat(np.zeros(0, np.int64), np.zeros(0, np.int64), 1)
    else:
        net.step([])
    dt, th = cfg.dt_s, cfg.neuron.threshold
    eta_hid, eta_ro = th / (1.0 * 50.0), th / (1.0 * 2.0)
    silent_hid = ~hid.spiked.astype(bool)
    np.testing.assert_allclose(hid.theta[silent_hid],
                               theta_hid[silent_hid] - eta_hid * 50.0 * dt, rtol=1e-12)
    np.testing.assert_allclose(ro.theta[:5], theta_ro[:5] - eta_ro * 2.0 * dt, rtol=1e-12)
    assert ro.theta[5] == pytest.approx(theta_ro[5] + eta_ro * (1.0 - 2.0 * dt), rel=1e-12)
    same = Network(small_config(readout={'target_rate_hz': 10.0}), 3)
    default = Network(small_config(), 3)
    assert default.config.neuron.target_rate_hz == 10.0
    for a, b in drive([same, default], 100):
        assert np.array_equal(a, b)


def test_modulation_never_injects_current():
    cfg = small_config(plasticity={'learning': False})
    a, b = Network(cfg, 3), Network(cfg, 3)
    rng = np.random.default_rng(0)
    for t in range(100):
        inp = np.nonzero(rng.random(50) < 0.1)[0]
        assert np.array_equal(a.step(inp), b.step(inp))
        a.error(rng.normal(size=3) * 100)
    for ga, gb in zip(a.groups, b.groups):
        assert np.array_equal(ga.v, gb.v)


def test_teaching_changes_only_through_plasticity_and_learning_toggle():
    cfg = small_config()
    net = Network(cfg, 2)
    drive([net], 50)
    w0 = net.weights()
    net.learning = False
    drive([net], 50)
    w1 = net.weights()
    assert all(np.array_equal(w0[k], w1[k]) for k in w0)
    net.learning = True
    net.learning_rate = 1e-3
    assert net.config.plasticity.lr_hidden == 1e-3
    drive([net], 50)
    w2 = net.weights()
    assert any(not np.array_equal(w1[k], w2[k]) for k in w1)


def test_same_seed_same_result_and_different_seed_differs():
    cfg = small_config()
    a, b, c = Network(cfg, 7), Network(cfg, 7), Network(cfg, 8)
    drive([a, b, c], 120)
    sa, sb, sc = a.state_arrays(), b.state_arrays(), c.state_arrays()
    assert all(np.array_equal(sa[k], sb[k]) for k in sa)
    assert any(sa[k].shape != sc[k].shape or not np.array_equal(sa[k], sc[k]) for k in sa)


@pytest.mark.parametrize('bad', [[50], [-1], [0.5], [[1, 2]], ['a'], [3, 60]])
def test_bad_input_raises_and_leaves_state_untouched(bad):
    net = Network(small_config(), 0)
    drive([net], 20)
    before = net.state_arrays()
    t = net.t
    with pytest.raises(InputError):
        net.step(np.array(bad) if bad != [[1, 2]] else np.array([[1, 2]]))
    with pytest.raises(InputError):
        net.run([[1, 2], bad if bad != [[1, 2]] else np.array([[1, 2]])])
    assert net.t == t
    after = net.state_arrays()
    assert all(np.array_equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize('over', [
    {}, {'neuron': {'reset': 'subtract', 'refractory_steps': 2, 'homeostasis': False}},
    {'readout': {'delta_rule': False}}, {'layers': {'plastic_recurrent': False}},
    {'layers': {'n_layers': 3}}, {'plasticity': {'learning': False}},
    {'readout': {'tau_mem_s': 0.3, 'reset': 'subtract'}},
    {'readout': {'target_rate_hz': 3.0}, 'neuron': {'target_rate_hz': 40.0}},
    {'plasticity': {'elig_v_fraction': 0.4}},
    {'plasticity': {'elig_v_fraction': 0.6}, 'neuron': {'refractory_steps': 2}}])
def test_run_batch_fused_is_bit_identical_to_step_by_step(over):
    """The one-call batch path (``core/fused.py``) against ``step``: spikes, weights, state."""
    cfg = small_config(**over)
    a, b = Network(cfg, 4), Network(cfg, 4)
    rng = np.random.default_rng(1)
    for batch in range(6):
        n = int(rng.integers(0, 25))
        steps = [rng.integers(0, 50, int(rng.integers(0, 15))) for _ in range(n)]  # duplicates
        out_a, hid_a = [], []
        for s in steps:
            out_a.append(a.step(s))
            hid_a.append(np.concatenate([g.spikes + k * cfg.layers.n_hidden
                                         for k, g in enumerate(a.groups[:-1])]))
        idx = np.concatenate(steps) if steps else np.zeros(0, np.int64)
        off = np.concatenate([np.full(s.size, k) for k, s in enumerate(steps)]) if steps \
            else np.zeros(0, np.int64)
        r_idx, r_off, h_idx, h_off = b.run_flat(idx, off, n, hidden=True)
        for k in range(n):
            assert np.array_equal(r_idx[r_off == k], out_a[k]), (batch, k)
            assert np.array_equal(h_idx[h_off == k], hid_a[k]), (batch, k)
        for net in (a, b):
            net.teach(batch % 3)
    assert a.t == b.t
    sa, sb = a.state_arrays(), b.state_arrays()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert np.array_equal(sa[key], sb[key]), key
    assert a.stats() == b.stats()


def test_run_batch_equals_step_by_step():
    cfg = small_config()
    a, b = Network(cfg, 4), Network(cfg, 4)
    rng = np.random.default_rng(1)
    steps = [np.nonzero(rng.random(50) < 0.2)[0] for _ in range(30)]
    out_a = [a.step(s) for s in steps]
    idx = np.concatenate(steps)
    off = np.concatenate([np.full(s.size, k) for k, s in enumerate(steps)])
    out_b = b.run_batch(idx, off, 30)
    assert all(np.array_equal(x, y) for x, y in zip(out_a, out_b))
    with pytest.raises(InputError):
        b.run_batch(idx, off[::-1], 30)
    with pytest.raises(InputError):
        b.run_batch(idx, off, 5)
    with pytest.raises(InputError):
        b.run_batch(idx + 50, off, 30)
    assert b.t == 30


def test_decision_teach_reward_error_api():
    net = Network(small_config(), 5)
    drive([net], 60, teach_every=1000)
    d = net.decision()
    assert 0 <= d.label < 3 and d.counts.shape == (3,)
    assert d.margin >= 0 and 0 <= d.confidence <= 1
    err = net.teach(d.label)
    assert err.shape == (3,)
    r = net.reward(1.0)
    assert r[d.label] == 1.0 and np.count_nonzero(r) == 1
    assert net.reward(1.0)[d.label] < 1.0  # the running baseline rose
    with pytest.raises(InputError):
        net.teach(3)
    with pytest.raises(InputError):
        net.error(np.zeros(4))
    with pytest.raises(InputError):
        net.error([np.nan, 0, 0])
    net.reset_window()
    assert not net.decision().counts.any()
    net.reset_state()
    assert not any(g.v.any() for g in net.groups)


def test_stats_and_wiring_report():
    net = Network(small_config(layers={'p_rewire_rec': 0.1}), 6)
    drive([net], 100)
    st = net.stats()
    assert st['steps'] == 100 and st['t'] == 100
    assert len(st['rate_hz']) == 2 and all(r >= 0 for r in st['rate_hz'])
    assert set(st['weight_norm']) == {p.name for p in net.projections}
    assert st['modulation']['events'] > 0
    rep = net.wiring_report()
    assert rep['clustering'] > rep['clustering_random']
    assert rep['small_world_sigma'] > 1.0
    assert rep['synapses']['l1_rec'] > 0


def test_live_parameters_refuse_read_only():
    net = Network(small_config(), 0)
    with pytest.raises(ConfigError, match='read-only'):
        net.update_params({'layers.n_hidden': 64})
    with pytest.raises(ConfigError, match='plasticity.lr_hidden'):
        net.update_params({'plasticity.lr_hidden': -1.0})
    net.update_params({'plasticity.lr_readout': 0.5, 'teaching.margin': 3.0})
    assert net.config.teaching.margin == 3.0
    assert all(p.proj.learning_rate == 0.5 for p in net.projections if p.kind == 'readout')


def test_dale_keeps_signs():
    cfg = small_config(layers={'dale': True, 'exc_fraction': 0.7},
                       plasticity={'lr_hidden': 0.05, 'lr_readout': 0.05})
    net = Network(cfg, 9)
    drive([net], 200, teach_every=5)
    weights = net.weights()
    for p in net.projections:
        if p.pre < 0:
            continue
        sign = net.signs[p.pre]
        w = weights[p.name]
        pre = np.repeat(np.arange(p.indptr.size - 1), np.diff(p.indptr))
        assert np.all(w * sign[pre] >= 0)


def test_observing_the_network_never_changes_its_run(tmp_path):
    """stats(), state_arrays() and save() leave the trajectory bit-identical."""
    cfg = small_config()
    a, b = Network(cfg, 6), Network(cfg, 6)
    rng = np.random.default_rng(3)
    for t in range(400):
        inp = np.nonzero(rng.random(50) < 0.15)[0]
        assert np.array_equal(a.step(inp), b.step(inp)), t
        if t % 25 == 0:
            for n in (a, b):
                n.teach(t % 3)
        if t % 7 == 0:
            b.stats()
            b.save(tmp_path / 'b.npz')
    sa, sb = a.state_arrays(), b.state_arrays()
    for key in sa:
        if key != 'net/stat_spikes':
            assert np.array_equal(sa[key], sb[key]), key
    wa, wb = a.weights(), b.weights()
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)


def test_run_flat_with_reference_projections_equals_fused():
    cfg = small_config()
    fast = Network(cfg, 2)
    slow = Network(cfg, 2, projection_factory=ReferenceProjection)
    rng = np.random.default_rng(5)
    for batch in range(4):
        idx = rng.integers(0, 50, 60)
        off = np.sort(rng.integers(0, 12, 60))
        ra = fast.run_flat(idx, off, 12, hidden=True)
        rb = slow.run_flat(idx, off, 12, hidden=True)
        for x, y in zip(ra, rb):
            assert np.array_equal(x, y), batch
        fast.teach(batch % 3)
        slow.teach(batch % 3)


def test_subthreshold_eligibility_events_drive_hidden_learning():
    """``plasticity.elig_v_fraction`` < 1: neurons near threshold learn though none spikes."""
    def run(kappa):
        cfg = small_config(neuron={'threshold': 20.0, 'theta_max': 40.0, 'homeostasis': False},
                           plasticity={'elig_v_fraction': kappa, 'lr_hidden': 1e-4})
        net = Network(cfg, 5)
        w0 = net.weights()['input_l1'].copy()
        rng = np.random.default_rng(0)
        for t in range(100):
            net.step(np.nonzero(rng.random(50) < 0.2)[0])
            assert not any(g.n_spikes for g in net.groups[:net.readout_group]), (kappa, t)
            if t % 10 == 9:
                net.teach(t % 3)
        return np.abs(net.weights()['input_l1'] - w0).max()

    assert run(1.0) == 0.0
    assert run(0.2) > 1e-6
