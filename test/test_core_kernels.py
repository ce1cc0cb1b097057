"""Fast kernels of the core against the slow references in ``snn_ros.core.reference``."""

from __future__ import annotations

import numpy as np
import pytest

from snn_ros.core import connectivity, reference
from snn_ros.core.config import NeuronConfig
from snn_ros.core.neurons import (_homeostasis, _lif_integrate_reset, _lif_threshold,
                                  _near_threshold, LIFParams, LIFState)
from snn_ros.core.teaching import (class_gather, margin_wta, ModulatoryProjection,
                                   RewardBaseline)


@pytest.mark.parametrize('reset_zero', [True, False])
@pytest.mark.parametrize('refractory', [0, 2])
def test_lif_step_matches_reference(reset_zero, refractory):
    rng = np.random.default_rng(1)
    n = 50
    v = rng.uniform(0, 1.5, n)
    theta = rng.uniform(0.5, 1.2, n)
    ref = rng.integers(0, 3, n).astype(np.int64)
    for _ in range(20):
        i_in = rng.normal(0, 0.3, n)
        ev, eref, es = reference.lif_step(v, theta, ref, i_in, 0.9, reset_zero, refractory)
        fv, fref, fi = v.copy(), ref.copy(), i_in.copy()
        spiked = np.zeros(n, np.uint8)
        idx = np.zeros(n, np.int64)
        ns = _lif_threshold(fv, theta, fref, 0.9, spiked, idx)
        _lif_integrate_reset(fv, fi, spiked, theta, fref, 0 if reset_zero else 1, refractory)
        assert np.array_equal(fv, ev)
        assert np.array_equal(fref, eref)
        assert np.array_equal(spiked, es)
        assert np.array_equal(idx[:ns], np.nonzero(es)[0])
        assert not fi.any()
        v, ref = ev, eref


@pytest.mark.parametrize('kappa', [0.3, 0.5, 0.99, 1.0])
def test_near_threshold_matches_reference_and_contains_the_spikes(kappa):
    rng = np.random.default_rng(11)
    n = 60
    for _ in range(30):
        v = rng.uniform(-0.5, 1.5, n)
        theta = rng.uniform(0.5, 1.2, n)
        ref = rng.integers(0, 3, n).astype(np.int64)
        spiked = np.zeros(n, np.uint8)
        idx = np.zeros(n, np.int64)
        ns = _lif_threshold(v, theta, ref, 0.8, spiked, idx)
        near = np.zeros(n, np.int64)
        nn = _near_threshold(v, theta, ref, kappa, near)
        expected = reference.near_threshold(v, theta, ref, kappa)
        assert np.array_equal(near[:nn], expected)
        assert set(idx[:ns]) <= set(near[:nn])
        if kappa == 1.0:
            assert np.array_equal(near[:nn], idx[:ns])


def test_lif_impulse_response_exact():
    # alpha = 0.5 and inputs that are powers of two: every value is exactly representable.
    st = LIFState.zeros(1, 1.0)
    p = LIFParams(alpha=0.5, reset_mode=0, refractory_steps=0, homeostasis=False, eta=0.0,
                  p_target=0.0, theta_min=0.5, theta_max=2.0)
    from snn_ros.core.neurons import lif_integrate_reset, lif_threshold
    trace = []
    for k in range(5):
        lif_threshold(st, p)
        if k == 0:
            st.i_in[0] = 0.75
        lif_integrate_reset(st, p)
        trace.append(st.v[0])
    assert trace == [0.75, 0.375, 0.1875, 0.09375, 0.046875]


def test_homeostasis_matches_reference_and_bounds():
    rng = np.random.default_rng(2)
    theta = rng.uniform(0.3, 3.0, 40)
    for _ in range(50):
        s = (rng.random(40) < 0.3).astype(np.uint8)
        expected = reference.homeostasis(theta, s, 0.2, 0.05, 0.25, 2.5)
        _homeostasis(theta, s, 0.2, 0.05, 0.25, 2.5)
        assert np.array_equal(theta, expected)
    assert theta.min() >= 0.25 and theta.max() <= 2.5


def test_homeostasis_moves_toward_target():
    cfg = NeuronConfig(target_rate_hz=10.0, homeo_tau_s=1.0)
    p = LIFParams.from_config(cfg, 0.001)
    theta = np.ones(2)
    spiked = np.array([1, 0], np.uint8)
    _homeostasis(theta, spiked, p.eta, p.p_target, p.theta_min, p.theta_max)
    assert theta[0] > 1.0 > theta[1]


@pytest.mark.parametrize('balance', [False, True])
def test_margin_wta_matches_reference(balance):
    rng = np.random.default_rng(3)
    out = np.zeros(6)
    for _ in range(300):
        counts = rng.integers(0, 6, 6).astype(float)
        target = int(rng.integers(0, 6))
        margin = float(rng.integers(0, 4))
        got = margin_wta(counts, target, margin, 1.5, out, balance)
        assert np.array_equal(got, reference.margin_wta(counts, target, margin, 1.5, balance))


def test_margin_wta_is_sparse():
    out = np.zeros(4)
    # target ahead of every rival by the margin: no error at all
    assert not margin_wta(np.array([9.0, 2, 3, 1]), 0, 2.0, 1.0, out).any()
    # target behind: target up, only the rival within the margin down
    err = margin_wta(np.array([3.0, 4, 0, 0]), 0, 2.0, 1.0, out)
    assert err.tolist() == [1.0, -1.0, 0.0, 0.0]
    with pytest.raises(ValueError):
        margin_wta(np.zeros(4), 4, 1.0, 1.0, out)


@pytest.mark.parametrize('direct', [False, True])
def test_modulatory_projection_matches_reference(direct):
    rng = np.random.default_rng(4)
    mp = ModulatoryProjection(rng, 30, 5, 8, 3, direct=direct, gain=0.7)
    out = np.zeros(30)
    for _ in range(10):
        err = rng.normal(size=5)
        mp(err, out)
        if direct:
            expected = 0.7 * mp.b_mat @ err
        else:
            expected = reference.modulate(err, mp.a_mat, mp.g_indptr, mp.g_indices,
                                          mp.g_weights, 0.7)
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-14)
    assert np.all(np.diff(mp.g_indptr) == 3)


def test_class_gather_and_reward_baseline():
    out = np.zeros(6)
    class_gather(np.array([1.0, -2.0, 3.0]), np.array([0, 0, 1, 1, 2, 2]), out)
    assert out.tolist() == [1.0, 1.0, -2.0, -2.0, 3.0, 3.0]
    b = RewardBaseline(tau=2.0)
    assert b.update(1.0) == 1.0
    assert b.value == 0.5
    assert b.update(1.0) == 0.5


def test_delivery_reference_matches_csr():
    rng = np.random.default_rng(5)
    indptr, indices, w = connectivity.random_csr(rng, 20, 15, 0.3, -1.0, 1.0)
    dense = np.zeros((20, 15))
    dense[np.repeat(np.arange(20), np.diff(indptr)), indices] = w
    pre = np.array([1, 4, 7, 19])
    np.testing.assert_allclose(reference.deliver(indptr, indices, w, pre, 15),
                               dense[pre].sum(0), rtol=1e-12, atol=1e-15)


def test_block_recurrent_is_microcircuits():
    rng = np.random.default_rng(6)
    indptr, indices, w = connectivity.block_recurrent_csr(rng, 32, 8, 0.1)
    pre = np.repeat(np.arange(32), np.diff(indptr))
    assert np.all(pre // 8 == indices // 8)
    assert np.all(pre != indices)
    assert indices.size == 4 * 8 * 7
    sign = np.where(np.arange(32) % 5 == 0, -1.0, 1.0)
    indptr, indices, w = connectivity.block_recurrent_csr(rng, 32, 8, 0.1, sign, 0.3)
    pre = np.repeat(np.arange(32), np.diff(indptr))
    assert np.all(np.sign(w[w != 0]) == sign[pre][w != 0])
    assert np.any(pre // 8 != indices // 8)
    key = pre * 32 + indices
    assert np.unique(key).size == key.size


def test_small_world_lattice_and_rewiring():
    rng = np.random.default_rng(7)
    order = connectivity.ring_order(5, 4)
    assert sorted(order.tolist()) == list(range(20))
    indptr, indices, _ = connectivity.small_world_csr(rng, 100, 20, 5, 0.0, 0.0, 1.0, order)
    cls = indices // 4
    # a lattice neighbourhood of 5 interleaved slots reaches every class once
    assert np.all(np.sort(cls.reshape(100, 5), axis=1) == np.arange(5))
    indptr, indices, _ = connectivity.small_world_csr(rng, 100, 20, 5, 0.5, 0.0, 1.0, order)
    rows = indices.reshape(100, 5)
    assert all(len(set(r)) == 5 for r in rows.tolist())


def test_clustering_and_path_length_match_reference():
    rng = np.random.default_rng(8)
    n = 40
    u = rng.integers(0, n, 120)
    v = rng.integers(0, n, 120)
    edge_set = set(zip(u.tolist(), v.tolist()))
    indptr, indices = connectivity.undirected_csr(n, [(u, v)])
    assert connectivity.clustering_coefficient(indptr, indices) == pytest.approx(
        reference.clustering(n, edge_set), rel=1e-12)
    assert connectivity.mean_path_length(indptr, indices, n_sources=n) == pytest.approx(
        reference.mean_path_length(n, edge_set), rel=1e-12)


def test_wiring_report_of_a_ring_lattice_is_small_world():
    n, k = 200, 4
    u = np.repeat(np.arange(n), k // 2)
    v = (u + np.tile(np.arange(1, k // 2 + 1), n)) % n
    lattice = connectivity.wiring_report(n, [(u, v)], n_sources=n)
    assert lattice['clustering'] == pytest.approx(0.5)
    rng = np.random.default_rng(9)
    v2 = v.copy()
    move = rng.random(v.size) < 0.1
    v2[move] = rng.integers(0, n, move.sum())
    sw = connectivity.wiring_report(n, [(u, v2)], n_sources=n)
    assert sw['path_length'] < lattice['path_length']
    assert sw['small_world_sigma'] > 1.0
