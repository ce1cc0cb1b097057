"""Property tests of the event-driven plasticity: bounds, Dale sign, finiteness, resume."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st
import numpy as np

from snn_ros.core.plasticity import Projection


def build(seed, n_pre, n_post, density, w_min, w_max, dale, lam_x, lam_e, hs, hp):
    """Return a projection with random connectivity and in-bounds weights."""
    rng = np.random.default_rng(seed)
    mask = rng.random((n_pre, n_post)) < density
    indptr = np.concatenate([[0], np.cumsum(mask.sum(1))]).astype(np.int64)
    indices = np.nonzero(mask)[1]
    sign = np.where(rng.random(n_pre) < 0.6, 1.0, -1.0) if dale else None
    lo = np.full(n_pre, w_min)
    hi = np.full(n_pre, w_max)
    if dale:
        lo = np.where(sign > 0, max(w_min, 0.0), w_min)
        hi = np.where(sign > 0, w_max, min(w_max, 0.0))
    pre_of = np.repeat(np.arange(n_pre), np.diff(indptr))
    w = rng.uniform(lo[pre_of], hi[pre_of])
    proj = Projection(n_pre, n_post, indptr, indices, w, lam_x=lam_x, lam_e=lam_e,
                      w_min=w_min, w_max=w_max, sign=sign, history_segments=hs,
                      history_spikes=hp)
    return proj, lo[pre_of], hi[pre_of], sign


def run(proj, seed, t0, steps, lr):
    """Drive the projection with seeded random spikes, modulation and toggles."""
    rng = np.random.default_rng(seed)
    proj.learning_rate = lr
    for t in range(t0, t0 + steps):
        if rng.random() < 0.1:
            proj.set_modulation(t, rng.normal(0.0, 3.0, proj.n_post))
        if rng.random() < 0.05:
            proj.learning = not proj.learning
        pre = np.flatnonzero(rng.random(proj.n_pre) < 0.3)
        post = rng.random(proj.n_post) < 0.3          # boolean mask form
        proj.deliver(t, pre, np.zeros(proj.n_post))
        proj.on_post_spikes(t, post)
        proj.on_pre_spikes(t, pre)
    return t0 + steps - 1


params = dict(
    seed=st.integers(0, 2**32 - 1),
    n_pre=st.integers(1, 12),
    n_post=st.integers(1, 12),
    density=st.floats(0.0, 1.0),
    w_min=st.floats(-2.0, 0.0),
    w_max=st.floats(0.0, 2.0),
    dale=st.booleans(),
    lam_x=st.floats(0.0, 1.0),
    lam_e=st.floats(0.0, 1.0),
    hs=st.integers(2, 6),
    hp=st.integers(1, 4),
    lr=st.floats(0.0, 10.0),
    same_lam=st.booleans(),     # lam_e = lam_x: the fast path when lam_x >= 0.5
)


@settings(max_examples=60, deadline=None)
@given(**params)
def test_weights_bounded_signed_finite(seed, n_pre, n_post, density, w_min, w_max, dale,
                                       lam_x, lam_e, hs, hp, lr, same_lam):
    lam_e = lam_x if same_lam else lam_e
    proj, lo, hi, sign = build(seed, n_pre, n_post, density, w_min, w_max, dale,
                               lam_x, lam_e, hs, hp)
    last = run(proj, seed + 1, 0, 60, lr)
    proj.flush(last)
    w = proj.weights()
    assert np.all(np.isfinite(w)) and np.all(np.isfinite(proj.eligibility()))
    assert np.all(w >= lo) and np.all(w <= hi)
    if dale:
        pre_of = np.repeat(np.arange(n_pre), np.diff(proj.arrays.indptr))
        assert np.all(w * sign[pre_of] >= 0.0)


@settings(max_examples=40, deadline=None)
@given(split=st.integers(1, 59), flush_first=st.booleans(), **params)
def test_state_dict_resumes_bit_identically(split, flush_first, seed, n_pre, n_post, density,
                                            w_min, w_max, dale, lam_x, lam_e, hs, hp, lr,
                                            same_lam):
    lam_e = lam_x if same_lam else lam_e
    args = (seed, n_pre, n_post, density, w_min, w_max, dale, lam_x, lam_e, hs, hp)
    a, *_ = build(*args)
    last = run(a, seed + 1, 0, split, lr)
    if flush_first:
        a.flush(last)
    state = {k: v.copy() for k, v in a.state_dict().items()}
    b, *_ = build(*args)
    b.load_state_dict(state)
    for proj in (a, b):
        end = run(proj, seed + 2, last + 1, 60 - split, lr * 0.5)
        proj.flush(end)
    np.testing.assert_array_equal(a.weights(), b.weights())
    np.testing.assert_array_equal(a.eligibility(), b.eligibility())
    np.testing.assert_array_equal(a.presynaptic_trace(end), b.presynaptic_trace(end))
