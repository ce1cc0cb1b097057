"""Event-driven three-factor plasticity against the slow every-step reference."""

from __future__ import annotations

import numpy as np
import pytest

from snn_ros.core.plasticity import geometric_table, power_table, Projection
from snn_ros.core.plasticity_reference import ReferenceProjection

RTOL = 1e-9
ATOL = 1e-12


def random_csr(rng, n_pre, n_post, p):
    """Return (indptr, indices) of a random pre -> post mask with density p."""
    mask = rng.random((n_pre, n_post)) < p
    indptr = np.concatenate([[0], np.cumsum(mask.sum(1))]).astype(np.int64)
    indices = np.nonzero(mask)[1].astype(np.int64)
    return indptr, indices


def make_pair(rng, n_pre=12, n_post=9, p=0.4, lam_x=0.9, lam_e=0.8, w_min=-1e3, w_max=1e3,
              sign=None, scale=0.1, **kwargs):
    """Return (fast, reference) projections with the same random connectivity."""
    indptr, indices = random_csr(rng, n_pre, n_post, p)
    n_syn = indices.size
    w = rng.uniform(-scale, scale, n_syn)
    if sign is not None:
        pre_of = np.repeat(np.arange(n_pre), np.diff(indptr))
        w = np.abs(w) * sign[pre_of]
    args = (n_pre, n_post, indptr, indices, w)
    opts = dict(lam_x=lam_x, lam_e=lam_e, w_min=w_min, w_max=w_max, sign=sign)
    return Projection(*args, **opts, **kwargs), ReferenceProjection(*args, **opts)


def assert_same(fast, ref, t):
    """Flush both to step t and compare weights, eligibility and presynaptic traces."""
    fast.flush(t)
    ref.flush(t)
    np.testing.assert_allclose(fast.weights(), ref.weights(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(fast.eligibility(), ref.eligibility(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(fast.presynaptic_trace(t), ref.presynaptic_trace(t),
                               rtol=RTOL, atol=ATOL)


def drive(rng, projs, steps, *, rate_pre=0.15, rate_post=0.15, p_mod=0.05, p_param=0.02,
          p_quiet=0.3, p_flush=0.03, lr=1e-2, t0=0, check=None):
    """Run identical random spikes, modulation and parameter changes through ``projs``."""
    fast = projs[0]
    n_pre, n_post = fast.n_pre, fast.n_post
    for p in projs:
        p.learning_rate = lr
    for t in range(t0, t0 + steps):
        if rng.random() < p_param:
            new_lr = float(rng.uniform(0.0, 2 * lr))
            toggle = rng.random() < 0.5
            for p in projs:
                p.learning_rate = new_lr
                if toggle:
                    p.learning = not p.learning
        if rng.random() < p_mod:
            m = rng.normal(size=n_post)
            for p in projs:
                p.set_modulation(t, m)
        if rng.random() < p_quiet:
            continue
        pre = np.flatnonzero(rng.random(n_pre) < rate_pre)
        post = np.flatnonzero(rng.random(n_post) < rate_post)
        currents = []
        for n, p in enumerate(projs):
            i_post = np.zeros(n_post)
            if n == 2:
                p.step(t, pre, post, i_post)
            else:
                p.deliver(t, pre, i_post)
                p.on_post_spikes(t, post)
                p.on_pre_spikes(t, pre)
            currents.append(i_post)
        for c in currents[1:]:
            np.testing.assert_allclose(currents[0], c, rtol=RTOL, atol=ATOL)
        if check is not None and rng.random() < p_flush:
            check(t)
    return t0 + steps - 1


@pytest.mark.parametrize('seed', range(6))
def test_fast_equals_every_step_reference(seed):
    rng = np.random.default_rng(seed)
    lam_x = [0.9, 0.5, 1.0, 0.0, 0.95, 0.7][seed]
    opts = dict(lam_x=lam_x, lam_e=[0.8, 0.99, 0.6, 0.9, 0.0, 1.0][seed])
    fast, ref = make_pair(rng, **opts)
    fused, _ = make_pair(np.random.default_rng(seed), **opts)   # same network, step()
    w0 = fast.weights()
    last = drive(rng, (fast, ref, fused), 400, check=lambda t: assert_same(fast, ref, t))
    assert_same(fast, ref, last)
    fused.flush(last)
    np.testing.assert_allclose(fused.weights(), fast.weights(), rtol=RTOL, atol=ATOL)
    assert np.all(np.abs(fast.weights()) < 1e3)       # bounds never hit: equality regime
    assert (lam_x == 0.0) == np.all(fast.weights() == w0)   # x(t) = 0 before increment


@pytest.mark.parametrize('seed', range(4))
def test_bounded_histories_force_sweeps(seed):
    """Tiny histories exercise the local (post) and global (segment) catch-up sweeps."""
    rng = np.random.default_rng(100 + seed)
    fast, ref = make_pair(rng, history_segments=2 + seed, history_spikes=1 + seed)
    last = drive(rng, (fast, ref), 400, p_mod=0.3, rate_post=0.4,
                 check=lambda t: assert_same(fast, ref, t))
    assert_same(fast, ref, last)


def test_modulation_every_step_and_irregular_calls():
    rng = np.random.default_rng(7)
    fast, ref = make_pair(rng, n_pre=20, n_post=15, history_segments=5)
    last = drive(rng, (fast, ref), 300, p_mod=1.0, p_quiet=0.6, p_param=0.1)
    assert_same(fast, ref, last)
    # a long silence spanning many segments, then a spike
    for t in range(last + 1, last + 200, 7):
        m = rng.normal(size=fast.n_post)
        fast.set_modulation(t, m)
        ref.set_modulation(t, m)
    for p in (fast, ref):
        p.deliver(last + 250, np.arange(3), np.zeros(fast.n_post))
    assert_same(fast, ref, last + 260)


def test_learning_off_keeps_traces_and_weights():
    rng = np.random.default_rng(3)
    fast, ref = make_pair(rng)
    w0 = fast.weights()
    fast.learning = ref.learning = False
    m = rng.normal(size=fast.n_post)
    fast.set_modulation(0, m)
    ref.set_modulation(0, m)
    last = drive(rng, (fast, ref), 100, p_param=0.0)
    assert_same(fast, ref, last)
    np.testing.assert_array_equal(fast.weights(), w0)
    assert np.any(fast.eligibility() > 0)
    fast.learning = ref.learning = True
    last = drive(rng, (fast, ref), 100, t0=last + 1, p_param=0.0)
    assert_same(fast, ref, last)
    assert np.any(fast.weights() != w0)


def test_bounds_and_dale_sign_with_clipping():
    rng = np.random.default_rng(11)
    sign = np.where(rng.random(12) < 0.7, 1.0, -1.0)
    fast, _ = make_pair(rng, sign=sign, w_min=-0.2, w_max=0.15)
    last = drive(rng, (fast,), 300, lr=0.5)
    fast.flush(last)
    w = fast.weights()
    pre_of = np.repeat(np.arange(12), np.diff(fast.arrays.indptr))
    assert np.all(w >= -0.2) and np.all(w <= 0.15)
    assert np.all(w * sign[pre_of] >= 0.0)
    assert np.any(w == 0.15) or np.any(w == -0.2) or np.any(w == 0.0)


def test_static_projection_delivers_only():
    indptr = np.array([0, 2, 3])
    indices = np.array([0, 1, 1])
    proj = Projection(2, 2, indptr, indices, [0.5, 0.25, 2.0], lam_x=0.5, lam_e=0.5,
                      w_min=0.0, w_max=4.0, plastic=False)
    i_post = np.zeros(2)
    proj.deliver(0, np.array([0, 1]), i_post)
    assert i_post.tolist() == [0.5, 2.25]
    proj.on_post_spikes(0, [0, 1])
    proj.on_pre_spikes(0, [0, 1])
    proj.flush(5)
    assert proj.weights().tolist() == [0.5, 0.25, 2.0]


def test_impulse_response_exact():
    """One pre spike, one post spike: x, e, w follow exactly representable powers of 1/2."""
    proj = Projection(1, 1, [0, 1], [0], [0.0], lam_x=0.5, lam_e=0.5, w_min=-1.0, w_max=1.0)
    proj.learning_rate = 0.5
    proj.set_modulation(0, [1.0])
    proj.deliver(0, [0], np.zeros(1))
    proj.on_pre_spikes(0, [0])        # x(0) = 1
    proj.on_post_spikes(2, [0])       # e(2) = x(2) = 0.25, w(2) = 0.125
    proj.flush(3)                     # e(3) = 0.125, w(3) = 0.1875
    assert proj.eligibility().tolist() == [0.125]
    assert proj.weights().tolist() == [0.1875]
    assert proj.presynaptic_trace(3).tolist() == [0.125]


def test_tables():
    for lam in (0.0, 0.3, 0.95, 1.0):
        p = power_table(lam, 50)
        q = geometric_table(lam, 50)
        assert p[0] == 1.0
        np.testing.assert_allclose(q, np.concatenate([[0.0], np.cumsum(p)[:-1]]), rtol=1e-13)


@pytest.mark.parametrize('kwargs, match', [
    (dict(lam_x=1.5), 'lam_x'),
    (dict(w_min=1.0, w_max=0.0), 'w_min'),
    (dict(sign=[1.0, 2.0]), 'sign'),
])
def test_invalid_arguments(kwargs, match):
    opts = dict(lam_x=0.5, lam_e=0.5, w_min=-1.0, w_max=1.0)
    opts.update(kwargs)
    with pytest.raises(ValueError, match=match):
        Projection(2, 2, [0, 1, 2], [0, 1], [0.1, 0.1], **opts)


def test_invalid_calls():
    proj = Projection(2, 2, [0, 1, 2], [0, 1], [0.1, -0.1], lam_x=0.5, lam_e=0.5,
                      w_min=-1.0, w_max=1.0)
    with pytest.raises(ValueError, match='out of range'):
        proj.deliver(0, [2], np.zeros(2))
    with pytest.raises(ValueError, match='i_post'):
        proj.deliver(0, [0], np.zeros(3))
    with pytest.raises(ValueError, match='m_post'):
        proj.set_modulation(0, [np.nan, 0.0])
    proj.flush(4)
    with pytest.raises(ValueError, match='already completed'):
        proj.deliver(4, [0], np.zeros(2))
    with pytest.raises(ValueError, match='wrong sign'):
        Projection(2, 2, [0, 1, 2], [0, 1], [0.1, 0.1], lam_x=0.5, lam_e=0.5,
                   w_min=-1.0, w_max=1.0, sign=[1.0, -1.0])


@pytest.mark.parametrize('seed', range(3))
def test_call_order_within_a_step(seed):
    """Modulation after delivery, post before delivery, delivery skipped: same result."""
    rng = np.random.default_rng(50 + seed)
    fast, ref = make_pair(rng, history_segments=3, history_spikes=2)
    for p in (fast, ref):
        p.learning_rate = 1e-2
    orders = (('d', 'm', 'o', 'i'), ('o', 'd', 'i', 'm'), ('o', 'i', 'd'), ('o', 'i'),
              ('m', 'o', 'i', 'd'))
    for t in range(300):
        pre = np.flatnonzero(rng.random(fast.n_pre) < 0.2)
        post = np.flatnonzero(rng.random(fast.n_post) < 0.2)
        m = rng.normal(size=fast.n_post)
        order = orders[rng.integers(len(orders))]
        for p in (fast, ref):
            for op in order:
                if op == 'd':
                    p.deliver(t, pre, np.zeros(fast.n_post))
                elif op == 'm':
                    p.set_modulation(t, m)
                elif op == 'o':
                    p.on_post_spikes(t, post)
                else:
                    p.on_pre_spikes(t, pre)
        if t % 37 == 0:
            assert_same(fast, ref, t)
    assert_same(fast, ref, 299)


def test_work_follows_activity():
    """A step touches only the rows of spiking pres; post spikes and modulation touch none."""
    rng = np.random.default_rng(21)
    fast, _ = make_pair(rng, n_pre=30, n_post=20, p=0.5)
    drive(rng, (fast,), 50, p_param=0.0)
    a = fast.arrays
    pre_of = np.repeat(np.arange(30), np.diff(a.indptr))
    state = [x.copy() for x in (a.w, a.e, a.done)]
    fast.set_modulation(60, rng.normal(size=20))
    fast.on_post_spikes(60, np.arange(20))
    assert all(np.array_equal(x, y) for x, y in zip(state, (a.w, a.e, a.done)))
    fast.deliver(61, np.array([3, 7]), np.zeros(20))
    fast.on_post_spikes(61, np.arange(20))
    fast.on_pre_spikes(61, np.array([3, 7]))
    touched = np.flatnonzero(a.done != state[2])
    assert set(pre_of[touched]) == {3, 7}


# fast path (lam_x == lam_e): per-post running sums, O(1) per synapse per presynaptic spike
@pytest.mark.parametrize('seed, lam', list(enumerate([0.9, 0.95, 0.5, 0.99, 0.7, 0.6])))
def test_fast_path_equals_every_step_reference(seed, lam):
    rng = np.random.default_rng(200 + seed)
    fast, ref = make_pair(rng, lam_x=lam, lam_e=lam)
    fused, _ = make_pair(np.random.default_rng(200 + seed), lam_x=lam, lam_e=lam)
    assert fast.arrays.mode[0] > 0
    last = drive(rng, (fast, ref, fused), 400, check=lambda t: assert_same(fast, ref, t))
    assert_same(fast, ref, last)
    fused.flush(last)
    np.testing.assert_allclose(fused.weights(), fast.weights(), rtol=RTOL, atol=ATOL)
    assert np.all(np.abs(fast.weights()) < 1e3)


def test_fast_path_lam_one_and_general_fallback():
    rng = np.random.default_rng(5)
    fast, ref = make_pair(rng, lam_x=1.0, lam_e=1.0)
    assert fast.arrays.mode[0] > 0
    last = drive(rng, (fast, ref), 300, lr=1e-6, check=lambda t: assert_same(fast, ref, t))
    assert_same(fast, ref, last)
    slow, _ = make_pair(rng, lam_x=0.3, lam_e=0.3)
    assert slow.arrays.mode[0] == 0       # lam too small for an epoch of 8 steps


@pytest.mark.parametrize('seed', range(4))
def test_fast_path_bounded_histories(seed):
    """Tiny epoch histories force compactions; lam 0.5 forces a split every 8 steps."""
    rng = np.random.default_rng(300 + seed)
    lam = (0.9, 0.5, 0.8, 0.95)[seed]
    fast, ref = make_pair(rng, lam_x=lam, lam_e=lam, history_segments=2 + seed)
    last = drive(rng, (fast, ref), 400, p_mod=0.3, rate_post=0.4, p_flush=0.01,
                 check=lambda t: assert_same(fast, ref, t))
    assert_same(fast, ref, last)


@pytest.mark.parametrize('seed', range(3))
def test_fast_path_any_call_order_matches_general_path(seed):
    """Every call order within a step, presynaptic before postsynaptic included.

    The reference applies calls in their order (a post spike after ``on_pre_spikes`` would see
    the incremented trace), so here the fast path is compared with the general path (lam_e
    off by one ulp), which, like the fast path, always uses the trace before the increment.
    """
    rng = np.random.default_rng(400 + seed)
    fast, ref = make_pair(rng, lam_x=0.9, lam_e=0.9, history_segments=3 + seed)
    gen = Projection(ref.n_pre, ref.n_post, ref.indptr, ref.indices, ref.w, lam_x=0.9,
                     lam_e=0.9 * (1 - 1e-15), w_min=-1e3, w_max=1e3, history_segments=3,
                     history_spikes=2)
    assert fast.arrays.mode[0] > 0 and gen.arrays.mode[0] == 0
    for p in (fast, gen):
        p.learning_rate = 1e-2
    orders = ('dmoi', 'odim', 'oid', 'oi', 'moid', 'iod', 'imo', 'diom', 'idmo', 'mido')
    for t in range(300):
        pre = np.flatnonzero(rng.random(fast.n_pre) < 0.2)
        post = np.flatnonzero(rng.random(fast.n_post) < 0.2)
        m = rng.normal(size=fast.n_post)
        order = orders[rng.integers(len(orders))]
        currents = []
        for p in (fast, gen):
            i_post = np.zeros(fast.n_post)
            for op in order:
                if op == 'd':
                    p.deliver(t, pre, i_post)
                elif op == 'm':
                    p.set_modulation(t, m)
                elif op == 'o':
                    p.on_post_spikes(t, post)
                else:
                    p.on_pre_spikes(t, pre)
            currents.append(i_post)
        np.testing.assert_allclose(currents[0], currents[1], rtol=RTOL, atol=ATOL)
        if t % 23 == 0:
            assert_same(fast, gen, t)
    assert_same(fast, gen, 299)


def test_fast_path_bounds_and_dale_sign():
    rng = np.random.default_rng(12)
    sign = np.where(rng.random(12) < 0.7, 1.0, -1.0)
    fast, _ = make_pair(rng, sign=sign, w_min=-0.2, w_max=0.15, lam_x=0.9, lam_e=0.9)
    assert fast.arrays.mode[0] > 0
    last = drive(rng, (fast,), 300, lr=0.5)
    fast.flush(last)
    w = fast.weights()
    pre_of = np.repeat(np.arange(12), np.diff(fast.arrays.indptr))
    assert np.all(w >= -0.2) and np.all(w <= 0.15)
    assert np.all(w * sign[pre_of] >= 0.0)
    assert np.any(w == 0.15) or np.any(w == -0.2) or np.any(w == 0.0)


def test_fast_path_work_follows_activity():
    """Post spikes and modulation touch no synapse; a step touches the spiking rows only."""
    rng = np.random.default_rng(22)
    fast, _ = make_pair(rng, n_pre=30, n_post=20, p=0.5, lam_x=0.9, lam_e=0.9)
    drive(rng, (fast,), 50, p_param=0.0)
    a = fast.arrays
    pre_of = np.repeat(np.arange(30), np.diff(a.indptr))
    state = [x.copy() for x in (a.w, a.e)]
    fast.set_modulation(60, rng.normal(size=20))
    fast.on_post_spikes(60, np.arange(20))
    assert all(np.array_equal(x, y) for x, y in zip(state, (a.w, a.e)))
    fast.step(61, np.array([3, 7]), np.arange(20), np.zeros(20))
    touched = np.flatnonzero((a.w != state[0]) | (a.e != state[1]))
    assert set(pre_of[touched]) == {3, 7}


@pytest.mark.parametrize('seed', range(3))
def test_fast_path_long_silences_and_empty_rows(seed):
    """Sparse pres cross many epochs; rows without synapses keep only their trace.

    The moves use one composite table per start epoch, shared by rows and extended later.
    """
    rng = np.random.default_rng(500 + seed)
    fast, ref = make_pair(rng, n_pre=30, n_post=9, p=0.15, lam_x=0.95, lam_e=0.95,
                          history_segments=(8, 40, 128)[seed])
    assert fast.arrays.mode[0] > 0
    assert np.any(np.diff(fast.arrays.indptr) == 0)
    last = drive(rng, (fast, ref), 500, rate_pre=0.02, rate_post=0.2, p_mod=0.25,
                 p_flush=0.005, check=lambda t: assert_same(fast, ref, t))
    assert fast.arrays.nseg[0] > 2          # epochs pending: moves span several of them
    assert_same(fast, ref, last)


def test_fast_kernels_compile_without_reference_counting():
    """The kernels take 36 arrays; with numba's runtime each call would incref them all."""
    import numba
    from snn_ros.core import _numba
    from snn_ros.core.plasticity import deliver_static, step_kernel
    if not _numba.NO_NRT:
        pytest.skip('numba without the _nrt option')
    fast, _ = make_pair(np.random.default_rng(1), lam_x=0.9, lam_e=0.9)
    a = fast.arrays
    for kernel, args in ((step_kernel, (a, 0, np.array([1, 2]), np.array([0]),
                                        np.zeros(fast.n_post))),
                         (deliver_static, (a.indptr, a.indices, a.w, np.array([1]),
                                           np.zeros(fast.n_post)))):
        assert kernel.targetoptions['_nrt'] is False
        opts = {k: v for k, v in kernel.targetoptions.items() if k != 'nopython'}
        fresh = numba.njit(**opts)(kernel.py_func)   # uncached, so inspectable
        fresh(*args)
        ir = ''.join(fresh.inspect_llvm().values())
        assert 'define' in ir
        assert 'NRT_incref' not in ir and 'NRT_decref' not in ir


def test_prefetch_rows_changes_nothing():
    """``prefetch_rows`` is a cache hint: every array stays bit-identical."""
    from snn_ros.core.plasticity import prefetch_rows
    rng = np.random.default_rng(9)
    for lam_e in (0.9, 0.8):        # fast path, general path
        fast, _ = make_pair(rng, lam_x=0.9, lam_e=lam_e)
        drive(rng, (fast,), 30, p_param=0.0)
        before = [x.copy() for x in fast.arrays]
        prefetch_rows(fast.arrays, np.array([0, 3, 11]), 2)
        prefetch_rows(fast.arrays, np.zeros(0, np.int64), 2)
        assert all(np.array_equal(x, y) for x, y in zip(before, fast.arrays))


def test_state_of_the_previous_layout_resumes_bit_identically():
    """States saved with int32 ``indices`` and 4-column ``seg_q`` (g, N, S, 0) still load."""
    from snn_ros.core.errors import CheckpointError
    args = dict(lam_x=0.9, lam_e=0.9, history_segments=6)
    a, _ = make_pair(np.random.default_rng(21), **args)
    last = drive(np.random.default_rng(22), (a,), 80, p_mod=0.2, rate_post=0.3)
    old = {k: v.copy() for k, v in a.state_dict().items()}
    old['indices'] = old['indices'].astype(np.int32)
    q = old['seg_q']
    assert q.shape[2] == 3 and a.arrays.indices.dtype == np.uint32
    old['seg_q'] = np.concatenate([q, np.zeros(q.shape[:2] + (1,))], axis=2)
    b, _ = make_pair(np.random.default_rng(21), **args)
    b.load_state_dict(old)
    for proj in (a, b):
        end = drive(np.random.default_rng(23), (proj,), 80, p_mod=0.2, rate_post=0.3,
                    t0=last + 1)
        proj.flush(end)
    sa, sb = a.state_dict(), b.state_dict()
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k])
    bad = dict(old, seg_q=np.zeros(q.shape[:2] + (5,)))
    with pytest.raises(CheckpointError, match='seg_q'):
        b.load_state_dict(bad)


def test_postsynaptic_indices_must_fit_uint32():
    """Postsynaptic indices are stored as uint32 (unsigned indexing in the kernels)."""
    from snn_ros.core.errors import ConfigError
    with pytest.raises(ConfigError, match='uint32'):
        Projection(1, (1 << 32) + 1, [0, 0], np.zeros(0, np.int64), np.zeros(0),
                   lam_x=0.9, lam_e=0.9, w_min=-1.0, w_max=1.0)
