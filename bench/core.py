"""Core benchmark: the reference online-learning workload of WORKLOAD.md, as JSON lines.

Run from the repository root (one thread)::

    .venv/bin/python -m bench.core            # everything (about 5-10 minutes with Brian2)
    .venv/bin/python -m bench.core --quick    # reference case only, no sweeps

Every implementation builds the same network from the same seed and consumes the same input
raster (generated before the timed run and handed to the Brian2 peer through an ``.npz``).
Implementations:

- ``snn_ros``: ``snn_ros.core.plasticity`` kernels (event-driven: work per spike and per
  modulation change; ``step_kernel``, ``push_segment``, ``prefetch_rows``, and
  ``deliver_static`` for static projections) driven by one fused numba step loop over simple
  LIF arrays;
- ``numba_every_step``: the straightforward CSR version that touches every synapse every step;
- ``brian2``: ``bench/brian2_peer.py`` run in ``.venv-bench`` (``scripts/bench_env``), skipped
  with a JSON note when that environment is absent.

Each line has the keys bench, case, impl, metric, value, unit (plus extras). Timings are the
median of 3 runs after a warm-up.
"""

from __future__ import annotations

import os

for _var in ('NUMBA_NUM_THREADS', 'OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_var, '1')

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
from pathlib import Path  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from snn_ros.core._numba import njit  # noqa: E402
from snn_ros.core.plasticity import (  # noqa: E402
    deliver_static, prefetch_rows, Projection, push_segment, step_kernel)

REPO = Path(__file__).resolve().parent.parent
BENCH_PY = REPO / '.venv-bench' / 'bin' / 'python'
PEER = Path(__file__).resolve().parent / 'brian2_peer.py'

N_IN = 2312
N_OUT = 10
BLOCK = 64
DT_S = 1e-3
TAU_S = 20e-3
LR = 1e-5
MOD_PERIOD = 100
W_BOUND = 1e9          # bounds far outside the weights reached in 1 s (no clipping)
# (pre group, post group) of the 6 projections: 0 input, 1 L1, 2 L2, 3 readout
PROJ = ((0, 1), (1, 1), (1, 2), (2, 2), (1, 3), (2, 3))


def emit(case, impl, metric, value, unit, **extra):
    """Print one JSON line."""
    if isinstance(value, float):
        value = float(f'{value:.6g}')
    row = {'bench': 'core', 'case': case, 'impl': impl, 'metric': metric, 'value': value,
           'unit': unit}
    row.update(extra)
    print(json.dumps(row), flush=True)


# ---------------------------------------------------------------------------------------------
# workload
# ---------------------------------------------------------------------------------------------
def _random_csr(rng, n_pre, n_post, p, w_hi):
    """Return (indptr, indices, weights): Bernoulli(p) connections, weights U(0, w_hi)."""
    rows, cols = [], []
    for i in range(n_pre):
        j = np.flatnonzero(rng.random(n_post) < p)
        rows.append(np.full(j.size, i))
        cols.append(j)
    indices = np.concatenate(cols).astype(np.int64)
    counts = np.array([c.size for c in cols])
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return indptr, indices, rng.uniform(0.0, w_hi, indices.size)


def _block_csr(rng, n, block, std):
    """Return a block-diagonal dense recurrent CSR without autapses, weights N(0, std)."""
    cols = []
    for i in range(n):
        b0 = (i // block) * block
        j = np.arange(b0, min(b0 + block, n))
        cols.append(j[j != i])
    indices = np.concatenate(cols).astype(np.int64)
    indptr = np.concatenate([[0], np.cumsum([c.size for c in cols])]).astype(np.int64)
    return indptr, indices, rng.normal(0.0, std, indices.size)


def make_workload(seed=0, n_hidden=1024, rate_hz=20.0, steps=1000, fixed_fanout=False,
                  gain_in=1.0, gain_12=1.0):
    """Return the workload dict (network, input raster, modulation) generated from ``seed``.

    WORKLOAD.md: 2312 Bernoulli inputs (p = rate dt), 2 x n_hidden LIF in blocks of 64,
    input -> L1 and L1 -> L2 with p = 0.1, both layers -> 10 readout with p = 0.1. With
    ``fixed_fanout`` (size sweep) the feedforward probabilities become 0.1 * 1024 / n_hidden,
    so every spike reaches as many synapses at every size; the gains then scale the input and
    L1 -> L2 weights so the total number of hidden spikes stays that of 2 x 1024.
    """
    rng = np.random.default_rng(seed)
    n_h = n_hidden
    scale = 1024.0 / n_h
    p_ff = 0.1 * scale if fixed_fanout else 0.1
    p_ro = 0.1 * scale if fixed_fanout else 0.1
    raster = rng.random((steps, N_IN)) < rate_hz * DT_S
    spk_t, spk_i = np.nonzero(raster)
    spk_indptr = np.searchsorted(spk_t, np.arange(steps + 1)).astype(np.int64)
    projs = [
        _random_csr(rng, N_IN, n_h, p_ff, 0.022 * gain_in),
        _block_csr(rng, n_h, BLOCK, 0.02),
        _random_csr(rng, n_h, n_h, p_ff, 0.065 * scale * gain_12),
        _block_csr(rng, n_h, BLOCK, 0.02),
        _random_csr(rng, n_h, N_OUT, p_ro, 0.035 * scale),
        _random_csr(rng, n_h, N_OUT, p_ro, 0.035 * scale),
    ]
    n_changes = -(-steps // MOD_PERIOD)
    sd = 1.0 / math.sqrt(10.0)
    b = [rng.normal(0.0, sd, (n, 10)) for n in (n_h, n_h, N_OUT)]
    err = rng.normal(0.0, 1.0, (n_changes, 10))
    lam = math.exp(-DT_S / TAU_S)
    return dict(seed=seed, n_hidden=n_h, rate_hz=rate_hz, steps=steps, spk_indptr=spk_indptr,
                spk_idx=spk_i.astype(np.int64), projs=projs, b1=b[0], b2=b[1], br=b[2],
                err=err, alpha=lam, lam_x=lam, lam_e=lam, lr=LR,
                n_syn=sum(p[1].size for p in projs))


def build_projections(wl, plastic=True):
    """Return the 6 ``Projection`` objects of the workload (fresh state)."""
    sizes = (N_IN, wl['n_hidden'], wl['n_hidden'], N_OUT)
    out = []
    for (a, b), (indptr, indices, w) in zip(PROJ, wl['projs']):
        out.append(Projection(sizes[a], sizes[b], indptr, indices, w, lam_x=wl['lam_x'],
                              lam_e=wl['lam_e'], w_min=-W_BOUND, w_max=W_BOUND,
                              plastic=plastic))
    return out


# ---------------------------------------------------------------------------------------------
# snn_ros: fused step loop over the plasticity kernels
# ---------------------------------------------------------------------------------------------
@njit
def _threshold(v, buf, raster, t, counts):
    """Return the number of spikes s = v >= 1 (indices into buf); record them."""
    n = 0
    for i in range(v.shape[0]):
        if v[i] >= 1.0:
            buf[n] = i
            n += 1
            counts[i] += 1
            if raster.shape[0] > 0:
                raster[t, i] = 1
    return n


@njit
def _modulation(b, err_k, scale, g):
    """``g = scale * (B @ err_k)`` without BLAS. Mutates g."""
    for i in range(b.shape[0]):
        acc = 0.0
        for k in range(b.shape[1]):
            acc += b[i, k] * err_k[k]
        g[i] = scale * acc


@njit
def _run_events(steps, spk_indptr, spk_idx, v1, v2, vr, alpha, p0, p1, p2, p3, p4, p5,
                b1, b2, br, err, lr_eff, plastic, ras1, ras2, rasr, c_in, c1, c2, cr):
    """Run ``steps`` steps of the workload with the event-driven kernels (snn_ros)."""
    n_h = v1.shape[0]
    buf1 = np.empty(n_h, np.int64)
    buf2 = np.empty(n_h, np.int64)
    bufr = np.empty(vr.shape[0], np.int64)
    g1 = np.zeros(n_h)
    g2 = np.zeros(n_h)
    gr = np.zeros(vr.shape[0])
    for t in range(steps):
        if plastic and t % 100 == 0:
            k = t // 100
            _modulation(b1, err[k], lr_eff, g1)
            _modulation(b2, err[k], lr_eff, g2)
            _modulation(br, err[k], lr_eff, gr)
            push_segment(p0, t, g1)
            push_segment(p1, t, g1)
            push_segment(p2, t, g2)
            push_segment(p3, t, g2)
            push_segment(p4, t, gr)
            push_segment(p5, t, gr)
        for i in range(n_h):
            v1[i] *= alpha
            v2[i] *= alpha
        for i in range(vr.shape[0]):
            vr[i] *= alpha
        n1 = _threshold(v1, buf1, ras1, t, c1)
        n2 = _threshold(v2, buf2, ras2, t, c2)
        nr = _threshold(vr, bufr, rasr, t, cr)
        s_in = spk_idx[spk_indptr[t]:spk_indptr[t + 1]]
        for i in s_in:
            c_in[i] += 1
        s1 = buf1[:n1]
        s2 = buf2[:n2]
        sr = bufr[:nr]
        # this step's first rows of the later projections load while p0 runs
        prefetch_rows(p1, s1, 2)
        prefetch_rows(p2, s1, 2)
        prefetch_rows(p3, s2, 2)
        prefetch_rows(p4, s1, 2)
        prefetch_rows(p5, s2, 2)
        if plastic:
            step_kernel(p0, t, s_in, s1, v1)
            step_kernel(p1, t, s1, s1, v1)
            step_kernel(p2, t, s1, s2, v2)
            step_kernel(p3, t, s2, s2, v2)
            step_kernel(p4, t, s1, sr, vr)
            step_kernel(p5, t, s2, sr, vr)
        else:
            deliver_static(p0.indptr, p0.indices, p0.w, s_in, v1)
            deliver_static(p1.indptr, p1.indices, p1.w, s1, v1)
            deliver_static(p2.indptr, p2.indices, p2.w, s1, v2)
            deliver_static(p3.indptr, p3.indices, p3.w, s2, v2)
            deliver_static(p4.indptr, p4.indices, p4.w, s1, vr)
            deliver_static(p5.indptr, p5.indices, p5.w, s2, vr)
        for i in s1:
            v1[i] = 0.0
        for i in s2:
            v2[i] = 0.0
        for i in sr:
            vr[i] = 0.0


# ---------------------------------------------------------------------------------------------
# straightforward every-synapse-every-step CSR version
# ---------------------------------------------------------------------------------------------
@njit
def _every_step_proj(indptr, indices, w, e, x, s_pre_mask, s_post_mask, g, lam_e, learn):
    """``e = lam_e e + x s_post; w += g e`` on every synapse (x already decayed)."""
    for i in range(indptr.shape[0] - 1):
        xi = x[i]
        for s in range(indptr[i], indptr[i + 1]):
            j = indices[s]
            ee = e[s] * lam_e
            if s_post_mask[j]:
                ee += xi
            e[s] = ee
            if learn:
                w[s] += g[j] * ee


@njit
def _run_every_step(steps, spk_indptr, spk_idx, v1, v2, vr, alpha, lam_x, lam_e,
                    ip, ix, w, e, b1, b2, br, err, lr, ras1, ras2, rasr):
    """Run the workload touching every synapse every step (learning on)."""
    n_h = v1.shape[0]
    x0 = np.zeros(N_IN)
    x1 = np.zeros(n_h)
    x2 = np.zeros(n_h)
    m0 = np.zeros(N_IN, np.bool_)
    m1 = np.zeros(n_h, np.bool_)
    m2 = np.zeros(n_h, np.bool_)
    mr = np.zeros(vr.shape[0], np.bool_)
    g1 = np.zeros(n_h)
    g2 = np.zeros(n_h)
    gr = np.zeros(vr.shape[0])
    buf1 = np.empty(n_h, np.int64)
    buf2 = np.empty(n_h, np.int64)
    bufr = np.empty(vr.shape[0], np.int64)
    c1 = np.zeros(n_h, np.int64)
    c2 = np.zeros(n_h, np.int64)
    cr = np.zeros(vr.shape[0], np.int64)
    for t in range(steps):
        if t % 100 == 0:
            k = t // 100
            _modulation(b1, err[k], lr, g1)
            _modulation(b2, err[k], lr, g2)
            _modulation(br, err[k], lr, gr)
        v1 *= alpha
        v2 *= alpha
        vr *= alpha
        x0 *= lam_x
        x1 *= lam_x
        x2 *= lam_x
        n1 = _threshold(v1, buf1, ras1, t, c1)
        n2 = _threshold(v2, buf2, ras2, t, c2)
        nr = _threshold(vr, bufr, rasr, t, cr)
        s_in = spk_idx[spk_indptr[t]:spk_indptr[t + 1]]
        s1 = buf1[:n1]
        s2 = buf2[:n2]
        sr = bufr[:nr]
        deliver_static(ip[0], ix[0], w[0], s_in, v1)
        deliver_static(ip[1], ix[1], w[1], s1, v1)
        deliver_static(ip[2], ix[2], w[2], s1, v2)
        deliver_static(ip[3], ix[3], w[3], s2, v2)
        deliver_static(ip[4], ix[4], w[4], s1, vr)
        deliver_static(ip[5], ix[5], w[5], s2, vr)
        m0[:] = False
        m1[:] = False
        m2[:] = False
        mr[:] = False
        for i in s_in:
            m0[i] = True
        for i in s1:
            m1[i] = True
        for i in s2:
            m2[i] = True
        for i in sr:
            mr[i] = True
        _every_step_proj(ip[0], ix[0], w[0], e[0], x0, m0, m1, g1, lam_e, True)
        _every_step_proj(ip[1], ix[1], w[1], e[1], x1, m1, m1, g1, lam_e, True)
        _every_step_proj(ip[2], ix[2], w[2], e[2], x1, m1, m2, g2, lam_e, True)
        _every_step_proj(ip[3], ix[3], w[3], e[3], x2, m2, m2, g2, lam_e, True)
        _every_step_proj(ip[4], ix[4], w[4], e[4], x1, m1, mr, gr, lam_e, True)
        _every_step_proj(ip[5], ix[5], w[5], e[5], x2, m2, mr, gr, lam_e, True)
        for i in s_in:
            x0[i] += 1.0
        for i in s1:
            x1[i] += 1.0
            v1[i] = 0.0
        for i in s2:
            x2[i] += 1.0
            v2[i] = 0.0
        for i in sr:
            vr[i] = 0.0


# ---------------------------------------------------------------------------------------------
# runners
# ---------------------------------------------------------------------------------------------
def _rasters(wl, record):
    n_h, steps = wl['n_hidden'], wl['steps']
    if not record:
        return (np.zeros((0, 0), np.uint8),) * 3
    return (np.zeros((steps, n_h), np.uint8), np.zeros((steps, n_h), np.uint8),
            np.zeros((steps, N_OUT), np.uint8))


def run_snn_ros(wl, *, plastic=True, learning=True, record=False):
    """Run the workload once with the event-driven kernels; return (wall_s, result dict)."""
    projs = build_projections(wl, plastic=plastic)
    n_h = wl['n_hidden']
    v1, v2, vr = np.zeros(n_h), np.zeros(n_h), np.zeros(N_OUT)
    ras = _rasters(wl, record)
    counts = (np.zeros(N_IN, np.int64), np.zeros(n_h, np.int64), np.zeros(n_h, np.int64),
              np.zeros(N_OUT, np.int64))
    arrs = [p.arrays for p in projs]
    lr_eff = wl['lr'] if learning else 0.0
    t0, c0 = time.perf_counter(), time.process_time()
    _run_events(wl['steps'], wl['spk_indptr'], wl['spk_idx'], v1, v2, vr, wl['alpha'], *arrs,
                wl['b1'], wl['b2'], wl['br'], wl['err'], lr_eff, plastic, *ras, *counts)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if plastic:
        for p in projs:
            p.flush(wl['steps'] - 1)
    events = sum(int(np.dot(counts[a], np.diff(p.arrays.indptr)))
                 for (a, _), p in zip(PROJ, projs))
    return wall, cpu, dict(rasters=ras, counts=counts, events=events,
                           weights=[p.weights() for p in projs])


def run_every_step(wl, *, record=False):
    """Run the workload once with the every-synapse-every-step version."""
    n_h = wl['n_hidden']
    v1, v2, vr = np.zeros(n_h), np.zeros(n_h), np.zeros(N_OUT)
    ras = _rasters(wl, record)
    ip = tuple(p[0] for p in wl['projs'])
    ix = tuple(p[1].astype(np.int32) for p in wl['projs'])
    w = tuple(p[2].copy() for p in wl['projs'])
    e = tuple(np.zeros(p[2].size) for p in wl['projs'])
    t0, c0 = time.perf_counter(), time.process_time()
    _run_every_step(wl['steps'], wl['spk_indptr'], wl['spk_idx'], v1, v2, vr, wl['alpha'],
                    wl['lam_x'], wl['lam_e'], ip, ix, w, e, wl['b1'], wl['b2'], wl['br'],
                    wl['err'], wl['lr'], *ras)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return wall, cpu, dict(rasters=ras, weights=list(w))


def median_time(fn, repeats=3):
    """Warm up once, then return (median wall s, median CPU s, last result) of the runs."""
    fn()
    walls, cpus, res = [], [], None
    for _ in range(repeats):
        wall, cpu, res = fn()
        walls.append(wall)
        cpus.append(cpu)
    return float(np.median(walls)), float(np.median(cpus)), res


def peak_rss_mb():
    """Return this process's peak resident set size in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ---------------------------------------------------------------------------------------------
# Brian2 peer
# ---------------------------------------------------------------------------------------------
def run_brian2(wl, repeats):
    """Run bench/brian2_peer.py in .venv-bench; return its result dict or None (skipped)."""
    if not BENCH_PY.exists():
        emit('reference', 'brian2', 'skipped', 1, 'flag',
             reason=f'{BENCH_PY} absent; create it with scripts/bench_env')
        return None
    with tempfile.TemporaryDirectory(prefix='snn_ros_bench_') as tmp:
        npz = Path(tmp) / 'workload.npz'
        arrays = {k: wl[k] for k in ('spk_indptr', 'spk_idx', 'b1', 'b2', 'br', 'err')}
        for n, (indptr, indices, w) in enumerate(wl['projs']):
            arrays[f'indptr{n}'] = indptr
            arrays[f'indices{n}'] = indices
            arrays[f'w{n}'] = w
        scal = np.array([wl['n_hidden'], wl['steps'], wl['alpha'], wl['lam_x'], wl['lam_e'],
                         wl['lr'], N_IN, N_OUT], np.float64)
        np.savez(npz, scalars=scal, **arrays)
        out = Path(tmp) / 'result.npz'
        cmd = [str(BENCH_PY), str(PEER), str(npz), str(out), '--repeats', str(repeats),
               '--workdir', str(Path(tmp) / 'brian2')]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3000)
        if proc.returncode != 0:
            emit('reference', 'brian2', 'failed', 1, 'flag',
                 stderr=proc.stderr[-2000:])
            return None
        res = dict(np.load(out, allow_pickle=False))
        res['log'] = proc.stdout
        return res


# ---------------------------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------------------------
def case_reference(args):
    """Time the reference workload: snn_ros, numba_every_step and brian2, learning on, off."""
    wl = make_workload(args.seed)
    sim_s = wl['steps'] * DT_S
    extra = dict(n_synapses=wl['n_syn'], n_hidden=wl['n_hidden'], rate_hz=wl['rate_hz'])
    t_on, c_on, res_on = median_time(lambda: run_snn_ros(wl, record=True), args.repeats)
    t_off, c_off, res_off = median_time(lambda: run_snn_ros(wl, plastic=False), args.repeats)
    t_keep, c_keep, _ = median_time(lambda: run_snn_ros(wl, learning=False), args.repeats)
    rss = peak_rss_mb()
    c = res_on['counts']
    rates = dict(rate_in_hz=float(c[0].mean() / sim_s), rate_l1_hz=float(c[1].mean() / sim_s),
                 rate_l2_hz=float(c[2].mean() / sim_s), rate_out_hz=float(c[3].mean() / sim_s))
    emit('reference', 'snn_ros', 'rtf_learning', sim_s / t_on, 'sim_s/wall_s',
         rtf_cpu=sim_s / c_on, **extra, **rates)
    emit('reference', 'snn_ros', 'rtf_inference', sim_s / t_off, 'sim_s/wall_s',
         rtf_cpu=sim_s / c_off, **extra)
    emit('reference', 'snn_ros', 'wall_s_per_sim_s', t_on / sim_s, 's', learning='on',
         cpu_s_per_sim_s=c_on / sim_s, **extra)
    emit('reference', 'snn_ros', 'wall_s_per_sim_s', t_off / sim_s, 's', learning='off',
         cpu_s_per_sim_s=c_off / sim_s, **extra)
    emit('reference', 'snn_ros', 'wall_s_per_sim_s', t_keep / sim_s, 's',
         learning='toggled_off_traces_kept', cpu_s_per_sim_s=c_keep / sim_s, **extra)
    emit('reference', 'snn_ros', 'syn_events_per_s', res_on['events'] / t_on, '1/s',
         learning='on', syn_events_per_sim_s=res_on['events'] / sim_s, **extra)
    emit('reference', 'snn_ros', 'syn_events_per_s', res_off['events'] / t_off, '1/s',
         learning='off', **extra)
    emit('reference', 'snn_ros', 'peak_rss_mb', rss, 'MB', **extra)

    t_es, c_es, res_es = median_time(lambda: run_every_step(wl, record=True), args.repeats)
    emit('reference', 'numba_every_step', 'wall_s_per_sim_s', t_es / sim_s, 's', learning='on',
         cpu_s_per_sim_s=c_es / sim_s, **extra)
    emit('reference', 'numba_every_step', 'rtf_learning', sim_s / t_es, 'sim_s/wall_s',
         rtf_cpu=sim_s / c_es, **extra)
    emit('reference', 'snn_ros', 'speedup_vs_numba_every_step', t_es / t_on, 'x',
         learning='on', cpu_ratio=c_es / c_on)
    equal = all(np.array_equal(a, b) for a, b in zip(res_on['rasters'], res_es['rasters']))
    emit('reference', 'snn_ros', 'raster_equal', int(equal), 'flag',
         vs='numba_every_step', n_spikes=int(sum(r.sum() for r in res_on['rasters'])))
    rel = max(float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))
              for a, b in zip(res_on['weights'], res_es['weights']))
    dw = max(float(np.max(np.abs(a - w0))) for a, (_, _, w0) in
             zip(res_on['weights'], wl['projs']))
    dev = max(float(np.max(np.abs(a - b))) for a, b in zip(res_on['weights'], res_es['weights']))
    emit('reference', 'snn_ros', 'weight_max_rel_diff', rel, 'ratio', vs='numba_every_step',
         max_abs_diff=dev, max_abs_weight_change=dw)

    if args.no_brian2:
        emit('reference', 'brian2', 'skipped', 1, 'flag', reason='--no-brian2')
        return
    res_b = run_brian2(wl, args.repeats)
    if res_b is None:
        return
    for line in res_b['log'].splitlines():
        if line.startswith('{'):
            print(line, flush=True)
    target = str(res_b['target'])
    b_on = float(res_b['wall_on'])
    b_off = float(res_b['wall_off'])
    bx = dict(target=target, build_s_on=float(res_b['build_on']),
              build_s_off=float(res_b['build_off']), **extra)
    emit('reference', 'brian2', 'rtf_learning', sim_s / b_on, 'sim_s/wall_s', **bx)
    emit('reference', 'brian2', 'rtf_inference', sim_s / b_off, 'sim_s/wall_s', **bx)
    emit('reference', 'brian2', 'wall_s_per_sim_s', b_on / sim_s, 's', learning='on', **bx)
    emit('reference', 'brian2', 'wall_s_per_sim_s', b_off / sim_s, 's', learning='off', **bx)
    emit('reference', 'brian2', 'syn_events_per_s', res_on['events'] / b_on, '1/s',
         learning='on', **bx)
    emit('reference', 'brian2', 'peak_rss_mb', float(res_b['peak_rss_mb']), 'MB', **bx)
    emit('reference', 'snn_ros', 'speedup_vs_brian2', b_on / t_on, 'x', learning='on',
         target=target)
    emit('reference', 'snn_ros', 'speedup_vs_brian2', b_off / t_off, 'x', learning='off',
         target=target)
    for n, name in ((1, 'l1'), (2, 'l2'), (3, 'out')):
        ras_b = res_b[f'raster_{name}']
        emit('reference', 'brian2', f'raster_equal_{name}',
             int(np.array_equal(ras_b, res_on['rasters'][n - 1])), 'flag', vs='snn_ros',
             n_spikes_brian2=int(ras_b.sum()),
             n_spikes_snn_ros=int(res_on['rasters'][n - 1].sum()))


def _calibrate(seed, n_hidden, target1, target2):
    """Return (gain_in, gain_12) giving the 2 x 1024 hidden spike totals at ``n_hidden``."""
    def spikes(g_in, g_12):
        wl = make_workload(seed, n_hidden, fixed_fanout=True, gain_in=g_in, gain_12=g_12)
        _, _, res = run_snn_ros(wl, plastic=False)
        return int(res['counts'][1].sum()), int(res['counts'][2].sum())

    def bisect(f, target):
        lo, hi = 0.05, 20.0
        for _ in range(16):
            mid = math.sqrt(lo * hi)
            if f(mid) < target:
                lo = mid
            else:
                hi = mid
        return math.sqrt(lo * hi)

    g_in = bisect(lambda g: spikes(g, 1.0)[0], target1)
    g_12 = bisect(lambda g: spikes(g_in, g)[1], target2)
    return g_in, g_12


def case_scaling_size(args):
    """Hidden 2 x 256 .. 2 x 4096 at the same total spikes and synaptic events (learning on)."""
    ref = make_workload(args.seed, 1024, fixed_fanout=True)
    _, _, res = run_snn_ros(ref, plastic=False)
    target1, target2 = int(res['counts'][1].sum()), int(res['counts'][2].sum())
    times = {}
    for n_h in args.sizes:
        g_in, g_12 = (1.0, 1.0) if n_h == 1024 else _calibrate(args.seed, n_h, target1, target2)
        wl = make_workload(args.seed, n_h, fixed_fanout=True, gain_in=g_in, gain_12=g_12)
        t, c, r = median_time(lambda: run_snn_ros(wl), args.repeats)
        times[n_h] = (t, c)
        sp = [int(n.sum()) for n in r['counts']]
        emit('scaling_size', 'snn_ros', 'wall_s_per_sim_s', t / (wl['steps'] * DT_S), 's',
             cpu_s_per_sim_s=c / (wl['steps'] * DT_S), n_hidden=n_h, n_synapses=wl['n_syn'],
             spikes_in=sp[0], spikes_l1=sp[1], spikes_l2=sp[2], spikes_out=sp[3],
             syn_events=r['events'], gain_in=g_in, gain_12=g_12, learning='on')
    for a in args.sizes:
        if 4 * a in times:
            emit('scaling_size', 'snn_ros', 'time_ratio_4x_neurons_same_spikes',
                 times[4 * a][0] / times[a][0], 'x', from_hidden=a, to_hidden=4 * a,
                 cpu_ratio=times[4 * a][1] / times[a][1])


def case_scaling_rate(args):
    """Input rate 5-80 Hz at 2 x 1024 (learning on)."""
    for rate in args.rates:
        wl = make_workload(args.seed, 1024, rate_hz=rate)
        t, c, r = median_time(lambda: run_snn_ros(wl), args.repeats)
        sp = [int(n.sum()) for n in r['counts']]
        emit('scaling_rate', 'snn_ros', 'wall_s_per_sim_s', t / (wl['steps'] * DT_S), 's',
             cpu_s_per_sim_s=c / (wl['steps'] * DT_S), rate_hz=rate, spikes_in=sp[0],
             spikes_l1=sp[1], spikes_l2=sp[2], syn_events=r['events'], learning='on')


def main(argv=None):
    """Run the selected cases and print JSON lines."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--cases', default='reference,scaling_size,scaling_rate')
    ap.add_argument('--sizes', default='256,1024,4096')
    ap.add_argument('--rates', default='5,10,20,40,80')
    ap.add_argument('--no-brian2', action='store_true', help='skip the Brian2 peer')
    ap.add_argument('--quick', action='store_true', help='reference case only')
    args = ap.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(',')]
    args.rates = [float(r) for r in args.rates.split(',')]
    cases = ['reference'] if args.quick else args.cases.split(',')
    emit('meta', 'snn_ros', 'python', sys.version.split()[0], 'version',
         numpy=np.__version__, threads=os.environ['NUMBA_NUM_THREADS'])
    for name in cases:
        {'reference': case_reference, 'scaling_size': case_scaling_size,
         'scaling_rate': case_scaling_rate}[name](args)


if __name__ == '__main__':
    main()
