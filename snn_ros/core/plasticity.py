"""Event-driven three-factor plasticity on sparse CSR projections.

Semantics (WORKLOAD.md), per step t and synapse (i -> j)::

    0. m_j may change (set_modulation)
    1. x_i *= lam_x;  e_ij *= lam_e
    3. i_post_j += w_ij s_i(t);  e_ij += x_i s_j(t)        (x_i decayed, not yet incremented)
    4. x_i += s_i(t)
    5. w_ij += lr e_ij m_j  (when learning), clipped to [lo_i, hi_i]

The cost follows activity. Nothing is done per synapse per step; a synapse is brought up to
date ("caught up") only when its presynaptic neuron spikes (delivery needs the current weight),
and in rare bounded sweeps:

- ``x_i`` is stored lazily as its value just after the last presynaptic spike ``xa``, the value
  just before it ``xb``, and the step ``xt`` (closed form ``lam_x ** dt``).
- A postsynaptic spike costs O(1): its step is appended to the post neuron's spike history.
  The eligibility jump ``x_i(p)`` it causes in every incoming synapse is applied when that
  synapse is next caught up (between two presynaptic spikes ``x_i`` decays freely, so
  ``x_i(p)`` is known in closed form), as in NEST's neuromodulated STDP synapse.
- The third factor ``g_j(k) = lr * learning * m_j(k)`` is piecewise constant; its segments are
  kept in a bounded history. Over a stretch without post spikes the eligibility decays
  geometrically, so its weight change is a closed-form sum
  ``e * sum_k g(k) lam_e ** (k - k0)`` over the segments it spans.
- Bounded memory: when a post neuron's spike history is full, that neuron's incoming synapses
  are caught up (O(in-degree)); when the segment history is full, every synapse is caught up
  once (O(synapses) every ``history_segments`` modulation changes).

A catch-up costs O(1 + post spikes + g segments since the synapse's last update); synapses
with zero eligibility and no new post spike cost one comparison.

Fast path (``lam_x == lam_e = lam >= 0.5``, the usual configuration; ``fast_horizon``):
between two spikes of pre i the trace decays freely, so with per-post running sums (post
spike count ``N_j`` and ``S_j = sum P(p - b - 1)`` over the epoch's post spikes,
``P(n) = sum_{v=1..n} lam ** v``) a synapse is two numbers ``(W, C)`` and a row one ``X_i``,
in an epoch with base step b: ``e(k) = lam ** (k - b) (C + X N_j(k))`` and
``w(k) = W + g_j ((C + X N_j(k)) P(k - b) - X S_j(k))``. A post spike is O(1), a pre spike
O(1) per synapse of its row (no post-spike history is replayed). Epochs are the g segments,
also split every H steps so that ``lam ** -(k - b) <= 256`` (cancellation stays ~1e-13
relative); a row is moved to the current epoch lazily, O(1) per synapse however many epochs
it crosses (per-post composite tables of the crossed epochs, one per start epoch, extended by
O(n_post) per epoch when a row needs it: ``_fast_table``), and when the epoch history is full
every row is moved once. ``w`` and ``e`` hold ``W`` and ``C``, which equal the weight and
eligibility after ``flush``. The same tolerance and clipping rules apply (clipping where the
weight is evaluated: at delivery, at each pre spike and at flush).

Contract: every presynaptic spike goes through ``deliver`` or ``on_pre_spikes`` (the latter
catches the row up itself when ``deliver`` was skipped); the order of the calls within a step
does not matter, and ``x_i(t)`` is always taken before step t's increment.

Fused loops: ``Projection.arrays`` (a ``ProjectionArrays`` named tuple) can be passed to the
module-level kernels (``step_kernel``, or ``deliver_plastic``, ``on_post_kernel`` and
``on_pre_kernel``; ``push_segment`` with ``g = lr * m`` or zeros when learning is off) from a
caller's own njit step loop, as bench/core.py does. Numba's on-disk cache of such a caller is
not invalidated when this module changes: clear the caller's ``__pycache__/*.nbi|nbc`` after
editing it.

Cost per call and per synapse: the kernels are compiled without numba's reference-counting
runtime (``njit_no_nrt``; they never allocate), since with it every call increfs and decrefs
the 36 arrays of ``ProjectionArrays`` (3.8 us per ``step_kernel`` call without spikes; 0.2 us
without the runtime). Rows start at random places in arrays larger than the caches, so each
kernel prefetches the synapses of the next ``_AHEAD`` rows while processing one
(``prefetch_rows`` lets a step loop start the first rows of a later call early); on large
projections this halves the time per synapse. The fast path also prefetches the per-row
state (``xr xd rb xt xa xb lo hi``, one cache line each) ``_AHEAD`` rows ahead and the row
pointers two rows before they are needed: with the same spikes spread over more neurons
those lines miss the caches, about 10% of the time at 2 x 4096 hidden neurons. The synapse
loops index with unsigned integers (``indices`` is uint32, row bounds are cast to uint64):
numba wraps negative signed indices around, a compare and select on every array access,
which unsigned indices skip (about 20% of the time per synapse).

Memory touched on the fast path: per synaptic event ``w``, ``e`` (float64) and ``indices``
(uint32), 20 B per synapse streamed, plus one random entry (3 float64) of the current
epoch's ``seg_q`` row and, when the row moves, of its start epoch's ``comp`` table, and
``i_post``; ``done``, ``post_syn`` and ``post_pre`` serve the general path and the rare
late post spike only. The per-post tables ``seg_q``, ``seg_g`` and ``comp`` have
``history_segments`` rows of ``n_post`` entries and are written one row per epoch, so a run
touches O(n_post) new memory per epoch (first-touch page faults) until the history is
compacted and rows are reused.

Tolerance: the fast path equals the every-step rule up to float64 rounding (relative
differences ~1e-13 on the weight changes; tests use rtol 1e-9) as long as no weight reaches a
bound. Clipping is applied when a synapse is caught up (at the end of each catch-up), not at
every step, so once a weight touches a bound the two rules may differ; weights always stay in
bounds and keep their Dale sign.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from snn_ros.core._numba import njit_no_nrt as njit, prefetch
from snn_ros.core.errors import CheckpointError, ConfigError, InputError

__all__ = [
    'Projection', 'ProjectionArrays', 'catch_up_all', 'deliver_plastic', 'deliver_static',
    'fast_horizon', 'geometric_table', 'on_post_kernel', 'on_pre_kernel', 'power_table',
    'prefetch_rows', 'push_segment', 'step_kernel',
]

_TABLE = 4096
_R_MAX = 256.0      # fast path: bound on lam ** -(t - b) inside an epoch
_H_MAX = 256        # fast path: longest epoch (steps)
_FAR_PAST = -(1 << 60)
_FAR_FUTURE = 1 << 62
_AHEAD = 2          # rows prefetched ahead of the one being processed


class ProjectionArrays(NamedTuple):
    """The arrays of one plastic projection, passed as one argument to every kernel."""

    indptr: np.ndarray       # int64[n_pre + 1], CSR by presynaptic neuron
    indices: np.ndarray      # uint32[n_syn], postsynaptic index per synapse
    w: np.ndarray            # float64[n_syn], weight after step done[s]
    e: np.ndarray            # float64[n_syn], eligibility after step done[s]
    done: np.ndarray         # int64[n_syn], last step completed for the synapse
    xa: np.ndarray           # float64[n_pre], x just after the last pre spike (step xt)
    xb: np.ndarray           # float64[n_pre], x just before that increment
    xt: np.ndarray           # int64[n_pre], step of the last pre spike (-1: none)
    rt: np.ndarray           # int64[n_pre], last step the row was caught up for delivery
    lo: np.ndarray           # float64[n_pre], lower weight bound per presynaptic neuron
    hi: np.ndarray           # float64[n_pre], upper weight bound per presynaptic neuron
    post_indptr: np.ndarray  # int64[n_post + 1], CSC by postsynaptic neuron
    post_syn: np.ndarray     # int64[n_syn], synapse ids by postsynaptic neuron
    post_pre: np.ndarray     # int32[n_syn], presynaptic index of post_syn
    ph: np.ndarray           # int64[n_post, history_spikes], post spike steps (ascending)
    pcnt: np.ndarray         # int64[n_post], entries used in ph
    plast: np.ndarray        # int64[n_post], step of the last recorded post spike (-1: none)
    seg_start: np.ndarray    # int64[history_segments], first step of each g segment
    seg_g: np.ndarray        # float64[history_segments, n_post], g = lr * learning * m
    nseg: np.ndarray         # int64[1], segments used
    px: np.ndarray           # float64[T], lam_x ** n
    pe: np.ndarray           # float64[T], lam_e ** n
    qe: np.ndarray           # float64[T], sum_{k<n} lam_e ** k
    lam: np.ndarray          # float64[2], (lam_x, lam_e)
    mode: np.ndarray         # int64[1], epoch horizon H of the fast path (0: general path)
    xr: np.ndarray           # float64[n_pre], fast path: x_i(k) = xr lam ** (k - rb) after xt
    xd: np.ndarray           # float64[n_pre], fast path: jump of xr at the last pre spike
    rb: np.ndarray           # int64[n_pre], fast path: base step of the row's epoch
    seg_q: np.ndarray        # float64[history_segments, n_post, 3], fast path: (g, N, S)
    pre_t: np.ndarray        # int64[1], fast path: last step on_pre switched a row
    pp: np.ndarray           # float64[T], P(n) = sum_{v=1..n} lam ** v
    pinv: np.ndarray         # float64[H + 2], lam ** -n
    comp: np.ndarray         # float64[history_segments, n_post, 3], fast path: move tables
    comp_c: np.ndarray       # int64[history_segments], epoch each table reaches (-1: none)
    comp_l: np.ndarray       # float64[history_segments], scale L of each table


def fast_horizon(lam_x: float, lam_e: float) -> int:
    """Return the epoch horizon H of the fast path, 0 when the general path is used.

    The fast path needs ``lam_x == lam_e = lam`` and a lam close enough to 1 that an epoch of
    at least 8 steps keeps ``lam ** -H <= 256`` (lam >= 0.5).
    """
    lam = float(lam_x)
    if lam != float(lam_e) or not 0.0 < lam <= 1.0:
        return 0
    if lam == 1.0:
        return _H_MAX
    h = min(_H_MAX, int(math.floor(math.log(_R_MAX) / -math.log(lam) + 1e-9)))
    return h if h >= 8 else 0


def power_table(lam: float, n: int = _TABLE) -> np.ndarray:
    """Return ``lam ** k`` for ``k = 0..n-1``."""
    return np.power(float(lam), np.arange(n, dtype=np.float64))


def geometric_table(lam: float, n: int = _TABLE) -> np.ndarray:
    """Return ``sum_{i<k} lam ** i`` for ``k = 0..n-1`` (accurate for lam near 1)."""
    k = np.arange(n, dtype=np.float64)
    if lam == 1.0:
        return k
    if lam == 0.0:
        return np.minimum(k, 1.0)
    return np.expm1(k * math.log(lam)) / math.expm1(math.log(lam))


@njit
def _set_row(dst, r, src):
    """``dst[r, :] = src`` element by element (no temporary even when they overlap)."""
    for j in range(src.shape[0]):
        dst[r, j] = src[j]


@njit
def _prefetch_row(indices, w, e, s0, s1):
    """Prefetch the synapses s0 .. s1 - 1 (w, e and indices; 64-byte lines).

    Rows start at random places in arrays larger than the caches; loading the next rows
    while the current one is processed halves the time per synapse on large projections.
    """
    u0, u1 = np.uint64(s0), np.uint64(s1)
    for s in range(u0, u1, np.uint64(8)):
        prefetch(w, s)
        if e.shape[0] > 0:
            prefetch(e, s)
    for s in range(u0, u1, np.uint64(16)):
        prefetch(indices, s)


@njit
def _prefetch_row_state(a, i):
    """Prefetch the per-row state of row i that ``_fast_rows`` reads (one line per array)."""
    prefetch(a.xr, i)
    prefetch(a.xd, i)
    prefetch(a.rb, i)
    prefetch(a.xt, i)
    prefetch(a.xa, i)
    prefetch(a.xb, i)
    prefetch(a.lo, i)
    prefetch(a.hi, i)


@njit
def _lpow(tab, lam, n):
    """Return ``lam ** n`` (table for small n)."""
    if n < tab.shape[0]:
        return tab[n]
    return lam ** n


@njit
def _seg_at(seg_start, nseg, m, step):
    """Return the segment index containing ``step``, searching forward from ``m``."""
    while m + 1 < nseg and seg_start[m + 1] <= step:
        m += 1
    return m


@njit
def _geo_far(lam, n):
    """Return ``sum_{i<n} lam ** i`` without a table."""
    if lam == 1.0:
        return float(n)
    if lam == 0.0:
        return 1.0 if n > 0 else 0.0
    return math.expm1(n * math.log(lam)) / math.expm1(math.log(lam))


@njit
def _catch_up_many(a, sel, r0, r1, by_post, t_end, i_post, deliver, rt_step):
    """Complete the selected synapses through step t_end (the catch-up of the rule).

    Per synapse s (i -> j), for k in (done, t_end]: e = lam_e e + x_i(k) s_j(k);
    w += g_j(k) e; then w is clipped to [lo_i, hi_i]. Post spikes come from ``ph[j]``; between
    them e decays geometrically, so per g segment ``sum_k e(k)`` is a closed form with one
    term per post spike: ``sum_{u=k+1}^{p} e(u) = e(k) lam Q(p - k) + x_i(p)``, where
    ``Q(n) = sum_{v<n} lam_e ** v``.

    ``sel[r0:r1]`` lists presynaptic rows (``by_post`` False: every synapse of each row; sets
    ``rt[i] = rt_step`` unless rt_step < 0; with ``deliver`` also ``i_post[j] += w`` after the
    catch-up) or postsynaptic columns (``by_post`` True); with an empty ``sel`` the rows or
    columns r0 .. r1 - 1 themselves. The whole catch-up is written out in this one
    function, without array-taking helpers, so numba emits no reference counting per synapse.
    Mutates w, e, done (rt, i_post).
    """
    indptr, indices, w, e, done = a.indptr, a.indices, a.w, a.e, a.done
    xa, xb, xt, lo, hi, ph, pcnt = a.xa, a.xb, a.xt, a.lo, a.hi, a.ph, a.pcnt
    seg_start, seg_g, nseg = a.seg_start, a.seg_g, a.nseg[0]
    px, pe, qe, lam_x, lam = a.px, a.pe, a.qe, a.lam[0], a.lam[1]
    post_indptr, post_syn, post_pre, rt = a.post_indptr, a.post_syn, a.post_pre, a.rt
    plast = a.plast
    nt = pe.shape[0]
    last = nseg - 1
    i = 0
    xti = 0
    xai = xbi = loi = hii = 0.0
    use_sel = sel.shape[0] > 0
    for r in range(r0, r1):
        fixed = sel[r] if use_sel else r
        if by_post:
            n0, n1 = post_indptr[fixed], post_indptr[fixed + 1]
        else:
            n0, n1 = indptr[fixed], indptr[fixed + 1]
            if rt_step >= 0:
                rt[fixed] = rt_step
            i = fixed
            xti, xai, xbi, loi, hii = xt[i], xa[i], xb[i], lo[i], hi[i]
        for n in range(n0, n1):
            if by_post:
                s = post_syn[n]
                i = post_pre[n]
                j = fixed
                xti, xai, xbi, loi, hii = xt[i], xa[i], xb[i], lo[i], hi[i]
            else:
                s = n
                j = indices[n]
            d = done[s]
            if d < t_end:
                ee = e[s]
                quiet = plast[j] <= d          # no post spike since the last update
                if ee == 0.0 and quiet:
                    done[s] = t_end
                else:
                    c = pcnt[j]
                    q = c
                    if not quiet:
                        while q > 0 and ph[j, q - 1] > d:
                            q -= 1
                    m = last
                    while seg_start[m] > d + 1:
                        m -= 1
                    k = d
                    dw = 0.0
                    while True:
                        # one g segment: steps (k, seg_end]
                        seg_end = seg_start[m + 1] - 1 if m < last else t_end
                        if seg_end > t_end:
                            seg_end = t_end
                        acc = 0.0
                        while q < c and ph[j, q] <= seg_end:
                            p = ph[j, q]
                            if p == xti:
                                xv = xbi
                            else:
                                nd = p - xti
                                xv = xai * (px[nd] if nd < nt else lam_x ** nd)
                            nn = p - k
                            acc += ee * lam * (qe[nn] if nn < nt else _geo_far(lam, nn)) + xv
                            ee = ee * (pe[nn] if nn < nt else lam ** nn) + xv
                            k = p
                            q += 1
                        nn = seg_end - k
                        if nn > 0:
                            if ee != 0.0:
                                acc += ee * lam * (qe[nn] if nn < nt else _geo_far(lam, nn))
                                ee *= pe[nn] if nn < nt else lam ** nn
                            k = seg_end
                        dw += seg_g[m, j] * acc
                        if seg_end >= t_end:
                            break
                        m += 1
                    if dw != 0.0:
                        wn = w[s] + dw
                        if wn < loi:
                            wn = loi
                        elif wn > hii:
                            wn = hii
                        w[s] = wn
                    e[s] = ee
                    done[s] = t_end
            if deliver:
                i_post[j] += w[s]


# ---------------------------------------------------------------------------------------------
# fast path (lam_x == lam_e = lam): O(1) per synapse per presynaptic spike
# ---------------------------------------------------------------------------------------------
# Time is cut into epochs (the g segments, split at least every H steps). In an epoch with
# base b (its first step is b + 1) a row i and a synapse s = (i, j) are represented by
#     x_i(k) = X_i lam ** (k - b)                      (k after the row's last switch)
#     e_s(k) = lam ** (k - b) (C_s + X_i N_j(k))
#     w_s(k) = W_s + g_j ((C_s + X_i N_j(k)) P(k - b) - X_i S_j(k))
# with N_j(k) the post spikes of j in (b, k], S_j(k) = sum of P(p - b - 1) over them and
# P(n) = sum_{v=1..n} lam ** v. A post spike costs O(1) (N_j, S_j); a pre spike at t switches
# the row (X += D, D = lam ** -(t - b)) with C -= D N_j(t), W += g_j D S_j(t), O(1) per
# synapse; an epoch change maps (W, C, X) to the next epoch in O(1) per synapse, lazily.
# W and C are kept in ``w`` and ``e``; after ``catch_up_all`` (a split plus a full
# transform) they equal w and e. H bounds lam ** -(t - b) by _R_MAX (cancellation).

@njit
def _pfun(pp, lam, n):
    """Return ``P(n) = sum_{v=1..n} lam ** v``."""
    if n < pp.shape[0]:
        return pp[n]
    return lam * _geo_far(lam, n)


@njit
def _seg_of(seg_start, nseg, base):
    """Return the index of the epoch whose base step (start - 1) is ``base``."""
    m = nseg - 1
    while m > 0 and seg_start[m] - 1 > base:
        m -= 1
    return m


@njit
def _fast_table(a, m0, cur):
    """Bring the composite of epochs ``m0 .. cur - 1`` up to date; return its scale ``L``.

    Moving a row from epoch m0 to epoch cur maps, per synapse, ``(W, C)`` with row trace X to
    ``W + C A_j + X B_j`` and ``L (C + X K_j)``, and X to ``L X``: with ``L`` the product of
    ``lam ** len`` over the epochs, ``K_j`` the post spikes of j over them and, per epoch m
    (g, N, S from seg_q, ``L_m`` the scale before m, ``K_j`` including m),
    ``A_j += g L_m P(len)`` and ``B_j += g L_m (K_j P(len) - S)``. ``comp[m0]`` holds
    ``(A, B, K)`` per post, extended epoch by epoch in order (the same operations whenever it
    is computed; closed epochs never change), so a move costs O(1) per synapse however many
    epochs it spans, and O(n_post) per epoch added to a table. Mutates comp, comp_c, comp_l.
    """
    comp, comp_c, comp_l = a.comp, a.comp_c, a.comp_l
    c = comp_c[m0]
    tab = comp[m0]
    if c < 0:
        tab[:, :] = 0.0
        comp_l[m0] = 1.0
        c = m0
    el = comp_l[m0]
    if c < cur:
        seg_start, seg_q, pp, px = a.seg_start, a.seg_q, a.pp, a.px
        lam = a.lam[1]
        nt = px.shape[0]
        for m in range(c, cur):
            ln = seg_start[m + 1] - seg_start[m]
            lam_l = px[ln] if ln < nt else lam ** ln
            p_l = pp[ln] if ln < nt else lam * _geo_far(lam, ln)
            q = seg_q[m]
            for j in range(np.uint64(tab.shape[0])):
                gl = q[j, 0] * el
                k = tab[j, 2] + q[j, 1]
                tab[j, 0] += gl * p_l
                tab[j, 1] += gl * (k * p_l - q[j, 2])
                tab[j, 2] = k
            el *= lam_l
        comp_l[m0] = el
        comp_c[m0] = cur
    return el


@njit
def _fast_rows(a, sel, every, t, i_post, deliver, switch):
    """Bring rows ``sel`` (all with ``every``) to the current epoch, deliver, switch at spikes.

    Delivery adds ``w(t - 1)``; the switch is the representation change of a pre spike.

    Weights are clipped to the row's bounds where they are evaluated: ``w(t - 1)`` when
    delivering or switching, the weight at the epoch base when only moving (compaction).
    Mutates w, e (W, C), xr, xd, rb (and with ``switch`` xa, xb, xt, pre_t), i_post, the
    composite tables.
    """
    indptr, indices, w, e = a.indptr, a.indices, a.w, a.e
    xr, xd, rb, xt, lo, hi = a.xr, a.xd, a.rb, a.xt, a.lo, a.hi
    seg_start, seg_q, comp, comp_c, comp_l = a.seg_start, a.seg_q, a.comp, a.comp_c, a.comp_l
    pp, pinv = a.pp, a.pinv
    lam = a.lam[1]
    nseg = a.nseg[0]
    cur = nseg - 1
    b = seg_start[cur] - 1
    evaluate = deliver or switch
    pn = _pfun(pp, lam, t - 1 - b) if evaluate else 0.0
    d = pinv[t - b] if switch else 0.0
    q_c = seg_q[cur]
    n_rows = indptr.shape[0] - 1 if every else sel.shape[0]
    for r in range(n_rows):
        i = r if every else sel[r]
        for ahead in range(1 if r else 0, _AHEAD + 1):
            if r + ahead < n_rows:
                k = r + ahead if every else sel[r + ahead]
                _prefetch_row(indices, w, e, indptr[k], indptr[k + 1])
                if ahead == _AHEAD:
                    _prefetch_row_state(a, k)
        if r + _AHEAD + 2 < n_rows:
            # the row pointers read above for the prefetch of row r + _AHEAD, two rows early
            prefetch(indptr, r + _AHEAD + 2 if every else sel[r + _AHEAD + 2])
        sw = switch and xt[i] != t
        s0, s1 = np.uint64(indptr[i]), np.uint64(indptr[i + 1])   # unsigned (module doc)
        if s0 == s1:
            # no synapse: only the trace (xr, xd, rb serve synapses only)
            if sw:
                _fast_trace(a, i, t)
            continue
        m0 = _seg_of(seg_start, nseg, rb[i])
        x0 = xr[i]
        xc = x0
        dc = xd[i]
        loi, hii = lo[i], hi[i]
        if m0 < cur:
            el = _fast_table(a, m0, cur) if comp_c[m0] != cur else comp_l[m0]
            xc = x0 * el
            dc *= el
            if sw:
                # the hot case, fused: move, evaluate and clip, deliver, switch
                for s in range(s0, s1):
                    j = np.uint64(indices[s])
                    c0 = e[s]
                    _switch_synapse(w, e, s, j, el * (c0 + x0 * comp[m0, j, 2]),
                                    w[s] + c0 * comp[m0, j, 0] + x0 * comp[m0, j, 1], q_c,
                                    xc, pn, d, loi, hii, deliver, i_post)
                s1 = s0      # done: the passes below see an empty row
            for s in range(s0, s1):
                j = np.uint64(indices[s])
                c0 = e[s]
                w[s] += c0 * comp[m0, j, 0] + x0 * comp[m0, j, 1]
                e[s] = el * (c0 + x0 * comp[m0, j, 2])
            if not evaluate:
                for s in range(s0, s1):
                    if w[s] < loi:
                        w[s] = loi
                    elif w[s] > hii:
                        w[s] = hii
        if sw:
            for s in range(s0, s1):
                _switch_synapse(w, e, s, np.uint64(indices[s]), e[s], w[s], q_c, xc, pn, d, loi,
                                hii, deliver, i_post)
        elif evaluate:
            for s in range(s0, s1):
                j = np.uint64(indices[s])
                ww = w[s]
                wv = ww + q_c[j, 0] * ((e[s] + xc * q_c[j, 1]) * pn - xc * q_c[j, 2])
                if wv < loi:
                    w[s] = ww + (loi - wv)
                    wv = loi
                elif wv > hii:
                    w[s] = ww + (hii - wv)
                    wv = hii
                if deliver:
                    i_post[j] += wv
        rb[i] = b
        if sw:
            xr[i] = xc + d
            xd[i] = d
            _fast_trace(a, i, t)
        else:
            xr[i] = xc
            xd[i] = dc


@njit
def _switch_synapse(w, e, s, j, c, ww, q_c, xc, pn, d, loi, hii, deliver, i_post):
    """Evaluate synapse s (to post j) at t - 1, clip, deliver, switch at the pre spike.

    ``c`` and ``ww`` are its eligibility and weight representation at the current epoch.
    Mutates w[s], e[s] and (when ``deliver``) i_post[j].
    """
    g = q_c[j, 0]
    nj = q_c[j, 1]
    sj = q_c[j, 2]
    wv = ww + g * ((c + xc * nj) * pn - xc * sj)
    if wv < loi:
        ww += loi - wv
        wv = loi
    elif wv > hii:
        ww += hii - wv
        wv = hii
    if deliver:
        i_post[j] += wv
    e[s] = c - d * nj
    w[s] = ww + g * d * sj


@njit
def _fast_trace(a, i, t):
    """Increment the trace of pre i at its spike at t (xa, xb, xt; pre_t)."""
    n = t - a.xt[i]
    x_before = a.xa[i] * (a.px[n] if n < a.px.shape[0] else a.lam[0] ** n)
    a.xb[i] = x_before
    a.xa[i] = x_before + 1.0
    a.xt[i] = t
    a.pre_t[0] = t


@njit
def _fast_compact(a):
    """Bring every row to the current epoch and drop the older epochs. O(synapses)."""
    nseg = a.nseg[0]
    cur = nseg - 1
    _fast_rows(a, a.xt[:0], True, a.seg_start[cur], a.xa, False, False)
    a.comp_c[:] = -1
    if cur > 0:
        a.seg_start[0] = a.seg_start[cur]
        _set_row(a.seg_g, 0, a.seg_g[cur])
        q0, qc = a.seg_q[0], a.seg_q[cur]
        for j in range(qc.shape[0]):
            for k in range(3):
                q0[j, k] = qc[j, k]
        a.nseg[0] = 1


@njit
def _fast_split(a, start, g):
    """Start a new epoch at step ``start`` with third factor ``g``.

    Post spikes at ``start`` already recorded move to it. Compacts first when the history is
    full. Mutates seg_start, seg_g, seg_q, nseg (and the rows when compacting).
    """
    cur = a.nseg[0] - 1
    if a.seg_start[cur] == start:
        for j in range(g.shape[0]):
            a.seg_g[cur, j] = g[j]
            a.seg_q[cur, j, 0] = g[j]
        return
    if cur + 1 == a.seg_start.shape[0]:
        _fast_compact(a)
        cur = 0
    n = cur + 1
    seg_q, plast = a.seg_q, a.plast
    v = _pfun(a.pp, a.lam[1], start - a.seg_start[cur])
    for j in range(plast.shape[0]):
        seg_q[n, j, 0] = g[j]
        if plast[j] == start:
            seg_q[cur, j, 1] -= 1.0
            seg_q[cur, j, 2] -= v
            seg_q[n, j, 1] = 1.0
        else:
            seg_q[n, j, 1] = 0.0
        seg_q[n, j, 2] = 0.0
    a.seg_start[n] = start
    _set_row(a.seg_g, n, g)
    a.nseg[0] = n + 1


@njit
def _fast_enter(a, t):
    """Split the epoch when step t lies more than H steps after its base."""
    cur = a.nseg[0] - 1
    if t - (a.seg_start[cur] - 1) > a.mode[0]:
        _fast_split(a, t, a.seg_g[cur])


@njit
def _fast_on_post(a, t, post_idx):
    """Record post spikes of step t (N_j, S_j); fix rows already switched at t (rare)."""
    _fast_enter(a, t)
    seg_start, seg_q, plast = a.seg_start, a.seg_q, a.plast
    pp, lam = a.pp, a.lam[1]
    nseg = a.nseg[0]
    cur = nseg - 1
    v = _pfun(pp, lam, t - seg_start[cur])
    late = a.pre_t[0] == t
    for n in range(post_idx.shape[0]):
        j = post_idx[n]
        if plast[j] == t:
            continue
        plast[j] = t
        seg_q[cur, j, 1] += 1.0
        seg_q[cur, j, 2] += v
        if late:
            # pres switched at t before this call: their spike at t must count with the
            # trace before the increment (C -= D, W += g D P(t - b - 1) in the row's epoch)
            xt, xd, rb, e, w = a.xt, a.xd, a.rb, a.e, a.w
            for q in range(a.post_indptr[j], a.post_indptr[j + 1]):
                i = a.post_pre[q]
                if xt[i] == t:
                    s = a.post_syn[q]
                    m = _seg_of(seg_start, nseg, rb[i])
                    dd = xd[i]
                    e[s] -= dd
                    w[s] += seg_q[m, j, 0] * dd * _pfun(pp, lam, t - seg_start[m])


@njit
def deliver_plastic(a, t, pre_idx, i_post):
    """Catch up each spiking pre's synapses through t - 1, then ``i_post[j] += w``.

    Mutates i_post and the caught-up synapses (w, e, done), rt.
    """
    if a.mode[0] > 0:
        _fast_enter(a, t)
        _fast_rows(a, pre_idx, False, t, i_post, True, False)
        return
    _catch_up_many(a, pre_idx, 0, pre_idx.shape[0], False, t - 1, i_post, True, t)


@njit
def deliver_static(indptr, indices, w, pre_idx, i_post):
    """``i_post[j] += w[s]`` for every synapse s of each spiking pre. Mutates i_post."""
    n_rows = pre_idx.shape[0]
    for n in range(n_rows):
        i = pre_idx[n]
        for ahead in range(1 if n else 0, _AHEAD + 1):
            if n + ahead < n_rows:
                k = pre_idx[n + ahead]
                _prefetch_row(indices, w, w[:0], indptr[k], indptr[k + 1])
        for s in range(np.uint64(indptr[i]), np.uint64(indptr[i + 1])):
            i_post[np.uint64(indices[s])] += w[s]


@njit
def _sweep_post(a, j, t_end):
    """Catch up every synapse into post j through t_end; drop its consumed spike history."""
    _catch_up_many(a, a.xt[:0], j, j + 1, True, t_end, a.xa, False, -1)
    _compact_post(a.ph, a.pcnt, j, t_end)


@njit
def _compact_post(ph, pcnt, j, t_end):
    """Drop post spikes at steps <= t_end from ph[j]. Mutates ph, pcnt."""
    c = pcnt[j]
    q = 0
    while q < c and ph[j, q] <= t_end:
        q += 1
    if q > 0:
        for r in range(q, c):
            ph[j, r - q] = ph[j, r]
        pcnt[j] = c - q


@njit
def on_post_kernel(a, t, post_idx):
    """Record post spikes at step t (e_ij += x_i(t) applied lazily). Mutates ph, pcnt."""
    if a.mode[0] > 0:
        _fast_on_post(a, t, post_idx)
        return
    ph, pcnt, plast = a.ph, a.pcnt, a.plast
    cap = ph.shape[1]
    for n in range(post_idx.shape[0]):
        j = post_idx[n]
        c = pcnt[j]
        if c > 0 and ph[j, c - 1] == t:
            continue
        if c == cap:
            _sweep_post(a, j, t - 1)
            c = pcnt[j]
        ph[j, c] = t
        pcnt[j] = c + 1
        plast[j] = t


@njit
def on_pre_kernel(a, t, pre_idx):
    """``x_i = lam_x ** (t - xt) x_i + 1`` for spiking pres. Mutates xa, xb, xt (rt, synapses)."""
    if a.mode[0] > 0:
        _fast_enter(a, t)
        _fast_rows(a, pre_idx, False, t, a.xa, False, True)
        return
    xa, xb, xt, rt, px = a.xa, a.xb, a.xt, a.rt, a.px
    lam_x = a.lam[0]
    for n in range(pre_idx.shape[0]):
        i = pre_idx[n]
        if xt[i] == t:
            continue
        if rt[i] != t:
            _catch_up_many(a, a.xt[:0], i, i + 1, False, t - 1, xa, False, t)
        x_before = xa[i] * _lpow(px, lam_x, t - xt[i])
        xb[i] = x_before
        xa[i] = x_before + 1.0
        xt[i] = t


@njit
def step_kernel(a, t, pre_idx, post_idx, i_post):
    """One step in one call: ``deliver_plastic``, ``on_post_kernel``, ``on_pre_kernel``.

    On the fast path the post spikes are recorded first, then each spiking row is delivered
    and switched in one pass (same result: delivery reads ``w(t - 1)`` either way).
    """
    if a.mode[0] > 0:
        _fast_on_post(a, t, post_idx)
        _fast_rows(a, pre_idx, False, t, i_post, True, True)
        return
    deliver_plastic(a, t, pre_idx, i_post)
    on_post_kernel(a, t, post_idx)
    on_pre_kernel(a, t, pre_idx)


@njit
def prefetch_rows(a, pre_idx, count):
    """Start loading the synapses of the first ``count`` rows of ``pre_idx`` into cache.

    A hint, no state change: a step loop that knows this step's spikes early can call it for
    a projection processed later (the kernels themselves prefetch ``_AHEAD`` rows ahead
    within a call, but not the first rows of a call).
    """
    e = a.e if a.mode[0] > 0 else a.e[:0]
    for n in range(min(count, pre_idx.shape[0])):
        i = pre_idx[n]
        _prefetch_row(a.indices, a.w, e, a.indptr[i], a.indptr[i + 1])


@njit
def catch_up_all(a, t_end):
    """Complete every synapse through t_end and drop consumed history. O(synapses)."""
    if a.mode[0] > 0:
        _fast_split(a, t_end + 1, a.seg_g[a.nseg[0] - 1])
        _fast_compact(a)
        return
    _catch_up_many(a, a.xt[:0], 0, a.indptr.shape[0] - 1, False, t_end, a.xa, False, -1)
    for j in range(a.pcnt.shape[0]):
        _compact_post(a.ph, a.pcnt, j, t_end)
    nseg = a.nseg[0]
    m = _seg_at(a.seg_start, nseg, 0, t_end + 1)
    if m > 0:
        for r in range(m, nseg):
            a.seg_start[r - m] = a.seg_start[r]
            for j in range(a.seg_g.shape[1]):
                a.seg_g[r - m, j] = a.seg_g[r, j]
        a.nseg[0] = nseg - m


@njit
def push_segment(a, start, g):
    """Use ``g = lr * learning * m`` (per post) from step ``start`` on.

    ``start`` must not precede the last segment's start. When the history is full every
    synapse is caught up through ``start - 1`` first. Mutates seg_start, seg_g, nseg.
    """
    if a.mode[0] > 0:
        _fast_split(a, start, g)
        return
    n = a.nseg[0]
    if a.seg_start[n - 1] == start:
        _set_row(a.seg_g, n - 1, g)
        return
    if n == a.seg_start.shape[0]:
        catch_up_all(a, start - 1)
        n = a.nseg[0]
        if a.seg_start[n - 1] == start:
            _set_row(a.seg_g, n - 1, g)
            return
        if n == a.seg_start.shape[0]:
            return
    a.seg_start[n] = start
    _set_row(a.seg_g, n, g)
    a.nseg[0] = n + 1


def _index_array(spikes, n: int, what: str) -> np.ndarray:
    """Return spike indices as int64 from an index array or a boolean mask."""
    arr = np.asarray(spikes)
    if arr.dtype == np.bool_:
        if arr.shape != (n,):
            raise InputError(f'{what}: boolean mask of shape {arr.shape}, expected ({n},)')
        return np.flatnonzero(arr)
    if arr.size == 0:
        return np.zeros(0, np.int64)
    if arr.ndim != 1 or arr.dtype.kind not in 'iu':
        raise InputError(f'{what}: expected a 1-d integer index array or boolean mask, '
                         f'got dtype {arr.dtype} shape {arr.shape}')
    idx = arr.astype(np.int64, copy=False)
    if idx.min() < 0 or idx.max() >= n:
        raise InputError(f'{what}: index out of range [0, {n})')
    return idx


class Projection:
    """Sparse CSR projection pre -> post with the event-driven three-factor rule.

    Spikes are given as 1-d integer index arrays (or boolean masks). Per step t the network
    calls ``step(t, pre, post, i_post)``, or ``deliver(t, pre, i_post)``,
    ``on_post_spikes(t, post)``, ``on_pre_spikes(t, pre)`` in any order;
    ``set_modulation(t, m)`` whenever the third factor changes (before or during step t: it
    applies to the plasticity of step t on). ``learning_rate`` and ``learning`` changes made
    between steps apply from the next step that any method is called with.
    """

    def __init__(self, n_pre, n_post, indptr, indices, weights, *, lam_x, lam_e,
                 w_min, w_max, plastic=True, sign=None, history_segments=128,
                 history_spikes=64):
        """Build the projection.

        Args:
            n_pre: number of presynaptic neurons.
            n_post: number of postsynaptic neurons.
            indptr: CSR row pointer by presynaptic neuron, shape (n_pre + 1,).
            indices: postsynaptic index of every synapse, shape (n_syn,).
            weights: initial weights, shape (n_syn,), inside the bounds.
            lam_x: per-step decay of the presynaptic trace, in [0, 1].
            lam_e: per-step decay of the eligibility, in [0, 1].
            w_min: lower weight bound.
            w_max: upper weight bound (>= w_min).
            plastic: False for a static projection (no traces, delivery only).
            sign: optional +1/-1 per presynaptic neuron (Dale's law): weights also keep this
                sign, i.e. bounds become [max(w_min, 0), w_max] or [w_min, min(w_max, 0)].
            history_segments: modulation segments kept before a catch-up sweep (>= 2).
            history_spikes: post spikes kept per neuron before a local sweep (>= 1).

        Raises:
            ConfigError: on inconsistent shapes, out-of-range parameters or weights.
        """
        n_pre, n_post = int(n_pre), int(n_post)
        if n_pre < 0 or n_post < 0:
            raise ConfigError('n_pre and n_post must be >= 0')
        indptr = np.asarray(indptr, np.int64)
        indices = np.asarray(indices)
        w = np.array(weights, np.float64)
        if indptr.shape != (n_pre + 1,) or indptr[0] != 0 or np.any(np.diff(indptr) < 0):
            raise ConfigError(f'indptr must be non-decreasing, shape ({n_pre + 1},), from 0')
        n_syn = int(indptr[-1])
        if indices.shape != (n_syn,) or w.shape != (n_syn,):
            raise ConfigError(f'indices and weights must have shape ({n_syn},)')
        if n_syn and (indices.min() < 0 or indices.max() >= n_post):
            raise ConfigError(f'indices must lie in [0, {n_post})')
        if n_post > 1 << 32:
            raise ConfigError('n_post must be <= 2 ** 32 (uint32 postsynaptic indices)')
        for name, lam in (('lam_x', lam_x), ('lam_e', lam_e)):
            if not 0.0 <= float(lam) <= 1.0:
                raise ConfigError(f'{name} must lie in [0, 1], got {lam}')
        w_min, w_max = float(w_min), float(w_max)
        if not (math.isfinite(w_min) and math.isfinite(w_max) and w_min <= w_max):
            raise ConfigError(f'need finite w_min <= w_max, got [{w_min}, {w_max}]')
        lo = np.full(n_pre, w_min)
        hi = np.full(n_pre, w_max)
        if sign is not None:
            sign = np.asarray(sign, np.float64)
            if sign.shape != (n_pre,) or not np.all(np.abs(sign) == 1.0):
                raise ConfigError(f'sign must be +1/-1 per presynaptic neuron ({n_pre},)')
            lo = np.where(sign > 0, max(w_min, 0.0), w_min)
            hi = np.where(sign > 0, w_max, min(w_max, 0.0))
            if np.any(lo > hi):
                raise ConfigError('with sign, excitatory pres need w_max >= 0 and inhibitory '
                                  'pres need w_min <= 0')
        pre_of = np.repeat(np.arange(n_pre, dtype=np.int64), np.diff(indptr))
        if not np.all(np.isfinite(w)):
            raise ConfigError('weights must be finite')
        if n_syn and (np.any(w < lo[pre_of]) or np.any(w > hi[pre_of])):
            raise ConfigError('initial weights outside [w_min, w_max] or of the wrong sign')
        if int(history_segments) < 2 or int(history_spikes) < 1:
            raise ConfigError('history_segments must be >= 2 and history_spikes >= 1')
        idx32 = indices.astype(np.uint32)
        order = np.argsort(idx32, kind='stable')
        post_indptr = np.zeros(n_post + 1, np.int64)
        np.cumsum(np.bincount(idx32, minlength=n_post), out=post_indptr[1:])
        self.n_pre, self.n_post, self.n_synapses = n_pre, n_post, n_syn
        self.plastic = bool(plastic)
        self.lam_x, self.lam_e = float(lam_x), float(lam_e)
        hs = int(history_segments) if plastic else 2
        hp = int(history_spikes) if plastic else 1
        horizon = fast_horizon(lam_x, lam_e) if plastic else 0
        seg_start = np.zeros(hs, np.int64)
        seg_start[0] = 0 if horizon else _FAR_PAST
        lam_f = float(lam_e) if horizon else 1.0
        self.arrays = ProjectionArrays(
            indptr=indptr, indices=idx32, w=w, e=np.zeros(n_syn),
            done=np.full(n_syn, -1, np.int64), xa=np.zeros(n_pre), xb=np.zeros(n_pre),
            xt=np.full(n_pre, -1, np.int64), rt=np.full(n_pre, -1, np.int64), lo=lo, hi=hi,
            post_indptr=post_indptr, post_syn=order.astype(np.int64),
            post_pre=pre_of[order].astype(np.int32),
            ph=np.zeros((n_post if plastic and not horizon else 0, hp), np.int64),
            pcnt=np.zeros(n_post, np.int64),
            plast=np.full(n_post, -1, np.int64),
            seg_start=seg_start, seg_g=np.zeros((hs, n_post)), nseg=np.ones(1, np.int64),
            px=power_table(lam_x), pe=power_table(lam_e), qe=geometric_table(lam_e),
            lam=np.array([lam_x, lam_e], np.float64),
            mode=np.array([horizon], np.int64), xr=np.zeros(n_pre), xd=np.zeros(n_pre),
            rb=np.full(n_pre, -1, np.int64), seg_q=np.zeros((hs, n_post if horizon else 0, 3)),
            pre_t=np.full(1, -1, np.int64),
            pp=float(lam_e) * geometric_table(lam_e) if horizon else np.zeros(1),
            pinv=power_table(1.0 / lam_f, horizon + 2),
            comp=np.zeros((hs, n_post if horizon else 0, 3)),
            comp_c=np.full(hs, -1, np.int64), comp_l=np.ones(hs))
        self._lr = 0.0
        self._learning = True
        self._m = np.zeros(n_post)
        self._g = np.zeros(n_post)
        self._dirty = False
        self._t_last = -1      # latest step any method was called with
        self._t_flushed = -1   # latest step completed by flush (calls must come later)

    # live parameters -----------------------------------------------------------------------
    @property
    def learning_rate(self) -> float:
        """Learning rate; a change applies from the next step on."""
        return self._lr

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f'learning_rate must be finite, got {value}')
        if value != self._lr:   # an unchanged value leaves no pending update
            self._lr = value
            self._dirty = True

    @property
    def learning(self) -> bool:
        """Whether weights change; toggling keeps every trace (they keep evolving)."""
        return self._learning

    @learning.setter
    def learning(self, value: bool) -> None:
        if bool(value) != self._learning:
            self._learning = bool(value)
            self._dirty = True

    # internals -----------------------------------------------------------------------------
    def _enter(self, t: int, *, after_flush_ok: bool = False) -> int:
        t = int(t)
        if t < self._t_last:
            raise InputError(f'step {t} precedes step {self._t_last} already processed')
        if t <= self._t_flushed and not after_flush_ok:
            raise InputError(f'step {t} already completed by flush({self._t_flushed})')
        self._t_last = t
        if self._dirty and self.plastic:
            self._push(max(t, self._t_flushed + 1))
        return t

    def _push(self, start: int) -> None:
        self._dirty = False
        g = (self._lr * self._m) if self._learning else np.zeros(self.n_post)
        if np.array_equal(g, self._g):
            return
        self._g = g
        push_segment(self.arrays, start, g)

    # per-step API --------------------------------------------------------------------------
    def deliver(self, t, pre_spikes, i_post) -> None:
        """Add ``w`` of every synapse of each spiking pre to ``i_post`` (weights as of t - 1).

        Args:
            t: current step.
            pre_spikes: spiking presynaptic indices (int array) or boolean mask.
            i_post: float64[n_post] accumulator, mutated.
        """
        idx = _index_array(pre_spikes, self.n_pre, 'pre_spikes')
        if i_post.shape != (self.n_post,) or i_post.dtype != np.float64:
            raise InputError(f'i_post must be float64 of shape ({self.n_post},)')
        t = self._enter(t)
        if self.plastic:
            deliver_plastic(self.arrays, t, idx, i_post)
        else:
            deliver_static(self.arrays.indptr, self.arrays.indices, self.arrays.w, idx, i_post)

    def on_post_spikes(self, t, post_spikes) -> None:
        """Add ``x_pre`` (decayed to t) to the eligibility of each spiking post's inputs."""
        idx = _index_array(post_spikes, self.n_post, 'post_spikes')
        t = self._enter(t)
        if self.plastic:
            on_post_kernel(self.arrays, t, idx)

    def on_pre_spikes(self, t, pre_spikes) -> None:
        """Increment the presynaptic trace of spiking pres (after this step's delivery)."""
        idx = _index_array(pre_spikes, self.n_pre, 'pre_spikes')
        t = self._enter(t)
        if self.plastic:
            on_pre_kernel(self.arrays, t, idx)

    def step(self, t, pre_spikes, post_spikes, i_post) -> None:
        """Do ``deliver``, ``on_post_spikes`` and ``on_pre_spikes`` of step t in one call.

        Same result as the three calls; one numba dispatch instead of three (a dispatch with
        this projection's arrays costs a few microseconds).
        """
        pre = _index_array(pre_spikes, self.n_pre, 'pre_spikes')
        post = _index_array(post_spikes, self.n_post, 'post_spikes')
        if i_post.shape != (self.n_post,) or i_post.dtype != np.float64:
            raise InputError(f'i_post must be float64 of shape ({self.n_post},)')
        t = self._enter(t)
        if self.plastic:
            step_kernel(self.arrays, t, pre, post, i_post)
        else:
            deliver_static(self.arrays.indptr, self.arrays.indices, self.arrays.w, pre, i_post)

    def begin_batch(self, t0, n_steps) -> None:
        """Hand steps ``t0 .. t0 + n_steps - 1`` to a caller that runs ``step_kernel`` itself.

        For a fused step loop (``snn_ros.core.fused``): the same bookkeeping as ``n_steps``
        calls of :meth:`step` (a pending third factor takes effect at ``t0``), no kernel work.
        """
        self._enter(t0)
        self._t_last = int(t0) + max(int(n_steps), 1) - 1

    def set_modulation(self, t, m_post) -> None:
        """Use ``m_post`` (float64[n_post]) as the third factor from step t on."""
        m = np.array(m_post, np.float64)
        if m.shape != (self.n_post,) or not np.all(np.isfinite(m)):
            raise InputError(f'm_post must be finite with shape ({self.n_post},)')
        t = self._enter(t)
        self._m = m
        self._dirty = True
        if self.plastic:
            self._push(t)

    def flush(self, t) -> None:
        """Complete every synapse through step t (O(synapses)); weights() is then current.

        Steps up to t count as completed: later calls must use later steps. Flushing splits
        the closed-form sums, so a run with flushes may differ from one without in the last
        bits (same calls, same bits); ``state_dict`` needs no flush to resume exactly.
        """
        t = self._enter(t, after_flush_ok=True)
        if self.plastic:
            catch_up_all(self.arrays, t)
        self._t_flushed = max(self._t_flushed, t)

    def weights(self) -> np.ndarray:
        """Return a copy of the weights per synapse (CSR order), current after flush."""
        return self.arrays.w.copy()

    def eligibility(self) -> np.ndarray:
        """Return a copy of the eligibility per synapse, current after flush."""
        return self.arrays.e.copy()

    def presynaptic_trace(self, t) -> np.ndarray:
        """Return x per presynaptic neuron after step t (no state change)."""
        a = self.arrays
        dt = int(t) - a.xt
        if np.any(dt < 0):
            raise InputError(f'step {t} precedes the last presynaptic spike')
        return a.xa * np.power(self.lam_x, dt.astype(np.float64))

    # checkpoints ---------------------------------------------------------------------------
    _STATE = ('w', 'e', 'done', 'xa', 'xb', 'xt', 'rt', 'ph', 'pcnt', 'plast', 'seg_start',
              'seg_g', 'nseg', 'xr', 'xd', 'rb', 'seg_q', 'pre_t')

    def state_dict(self) -> dict[str, np.ndarray]:
        """Return everything needed to resume bit-identically, as arrays."""
        d = {k: getattr(self.arrays, k).copy() for k in self._STATE}
        d['indptr'] = self.arrays.indptr.copy()
        d['indices'] = self.arrays.indices.copy()
        d['m'] = self._m.copy()
        d['g'] = self._g.copy()
        d['scalars'] = np.array([self._lr, float(self._learning), float(self._dirty)])
        d['steps'] = np.array([self._t_last, self._t_flushed], np.int64)
        return d

    def load_state_dict(self, d) -> None:
        """Restore a state from ``state_dict``.

        Raises:
            CheckpointError: when a key is missing or an array does not fit this projection.
        """
        a = self.arrays
        for k in ('indptr', 'indices'):
            if k not in d or not np.array_equal(np.asarray(d[k]), getattr(a, k)):
                raise CheckpointError(f'state {k!r} missing or of another connectivity')
        for k in self._STATE + ('m', 'g', 'scalars', 'steps'):
            if k not in d:
                raise CheckpointError(f'state key {k!r} missing')
        for k in self._STATE:
            src = np.asarray(d[k])
            dst = getattr(a, k)
            if k == 'seg_q' and src.ndim == 3 and src.shape[2] == 4:
                src = src[:, :, :3]     # older layout (g, N, S, 0): drop the zero column
            if src.shape != dst.shape and k in ('seg_start', 'seg_g', 'seg_q', 'ph'):
                raise CheckpointError(f'state {k!r} has shape {src.shape}, expected {dst.shape} '
                                      '(history sizes differ)')
            if src.shape != dst.shape:
                raise CheckpointError(f'state {k!r} has shape {src.shape}, expected {dst.shape}')
            dst[...] = src
        a.comp_c[:] = -1      # move tables: a cache, recomputed the same way
        self._m = np.array(d['m'], np.float64)
        self._g = np.array(d['g'], np.float64)
        lr, learning, dirty = (float(v) for v in d['scalars'])
        self._lr, self._learning, self._dirty = lr, bool(learning), bool(dirty)
        self._t_last, self._t_flushed = (int(v) for v in d['steps'])
