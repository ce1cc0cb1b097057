"""Brian2 peer of bench/core.py: the same workload, network and input raster, in Brian2.

Run by bench/core.py from ``.venv-bench`` (``scripts/bench_env``)::

    .venv-bench/bin/python bench/brian2_peer.py workload.npz result.npz [--repeats 3]

Reads the generated network (CSR per projection), the input raster and the modulation inputs,
builds the WORKLOAD.md step order in Brian2's schedule (groups: leak; thresholds; synapses:
delivery and e += x_pre; resets: v = 0, x += 1; end: w += lr e m_post) and runs it with the
cpp_standalone device (falling back to the cython runtime target when the build fails),
learning on and off. Writes run times (median of ``repeats`` after a warm-up), build times,
peak memory and the spike rasters to ``result.npz``. Needs only brian2 and numpy.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

import numpy as np

os.environ.setdefault('OMP_NUM_THREADS', '1')


def _build(b2, d, learning):
    """Build the network in the current Brian2 device; return (net, monitors)."""
    ms = b2.ms
    scal = d['scalars']
    n_h, steps = int(scal[0]), int(scal[1])
    alpha, lam_x, lam_e, lr = (float(v) for v in scal[2:6])
    n_in, n_out = int(scal[6]), int(scal[7])
    b2.defaultclock.dt = 1 * ms
    raster = np.zeros((steps, n_in))
    ip = d['spk_indptr']
    for t in range(steps):
        raster[t, d['spk_idx'][ip[t]:ip[t + 1]]] = 1.0
    inp_arr = b2.TimedArray(raster, dt=1 * ms, name='inp_arr')
    ns = {'alpha': alpha, 'lam_x': lam_x, 'lam_e': lam_e, 'lr': lr, 'inp_arr': inp_arr}
    inp = b2.NeuronGroup(n_in, 'x : 1', threshold='inp_arr(t, i) > 0.5', reset='x += 1',
                         namespace=ns, name='inp')
    inp.run_regularly('x = lam_x * x', when='groups', name='inp_leak')
    groups = [inp]
    mods = []
    for name, n, bkey in (('l1', n_h, 'b1'), ('l2', n_h, 'b2'), ('out', n_out, 'br')):
        m_vals = d['err'] @ d[bkey].T                       # (n_changes, n)
        m_arr = b2.TimedArray(m_vals, dt=100 * ms, name=f'm_{name}')
        nsg = dict(ns)
        nsg['m_arr'] = m_arr
        g = b2.NeuronGroup(n, 'v : 1\nx : 1\nm : 1', threshold='v >= 1.0',
                           reset='v = 0\nx += 1', namespace=nsg, name=name)
        g.run_regularly('v = alpha * v\nx = lam_x * x', when='groups', name=f'{name}_leak')
        if learning:
            g.run_regularly('m = m_arr(t, i)', when='start', name=f'{name}_mod')
        groups.append(g)
        mods.append(m_arr)
    syns = []
    pairs = ((0, 1), (1, 1), (1, 2), (2, 2), (1, 3), (2, 3))
    for k, (a, b) in enumerate(pairs):
        indptr, indices, w = d[f'indptr{k}'], d[f'indices{k}'], d[f'w{k}']
        pre = np.repeat(np.arange(indptr.size - 1), np.diff(indptr))
        if learning:
            s = b2.Synapses(groups[a], groups[b], 'w : 1\nelig : 1', on_pre='v_post += w',
                            on_post='elig += x_pre', namespace=ns, name=f'syn{k}')
        else:
            s = b2.Synapses(groups[a], groups[b], 'w : 1', on_pre='v_post += w',
                            namespace=ns, name=f'syn{k}')
        s.connect(i=pre, j=indices)
        s.w[:] = w
        if learning:
            s.run_regularly('elig = lam_e * elig', when='groups', name=f'syn{k}_leak')
            s.run_regularly('w = w + lr * elig * m_post', when='end', name=f'syn{k}_plast')
        syns.append(s)
    mons = [b2.SpikeMonitor(g, name=f'mon_{g.name}') for g in groups[1:]]
    net = b2.Network(*groups, *syns, *mons)
    return net, mons, steps, n_h, n_out


def _rasters(mons, steps, sizes):
    out = []
    for mon, n in zip(mons, sizes):
        r = np.zeros((steps, n), np.uint8)
        t = np.round(np.asarray(mon.t_) / 1e-3).astype(np.int64)
        r[t, np.asarray(mon.i)] = 1
        out.append(r)
    return out


def run_standalone(d, learning, repeats, workdir):
    """Build and run with cpp_standalone; return (median run s, build s, rasters)."""
    import brian2 as b2
    b2.set_device('cpp_standalone', build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = 0
    # Brian2's default 'make -j' starts one compiler per source file; stay polite
    b2.prefs.devices.cpp_standalone.extra_make_args_unix = ['-j2']
    net, mons, steps, n_h, n_out = _build(b2, d, learning)
    net.run(steps * b2.ms)
    directory = os.path.join(workdir, 'on' if learning else 'off')
    t0 = time.perf_counter()
    b2.device.build(directory=directory, compile=True, run=False, clean=True)
    build_s = time.perf_counter() - t0
    runs = []
    for _ in range(repeats + 1):
        b2.device.run(directory=directory, with_output=False, run_args=[])
        runs.append(float(b2.device._last_run_time))
    rasters = _rasters(mons, steps, (n_h, n_h, n_out))
    b2.device.reinit()
    b2.device.activate()
    return float(np.median(runs[1:])), build_s, rasters


def run_runtime(d, learning, repeats):
    """Run with the cython runtime target; return (median run s, first-run s, rasters)."""
    import brian2 as b2
    b2.set_device('runtime')
    b2.prefs.codegen.target = 'cython'
    net, mons, steps, n_h, n_out = _build(b2, d, learning)
    net.store('init')
    runs = []
    for _ in range(repeats + 1):
        net.restore('init')
        t0 = time.perf_counter()
        net.run(steps * b2.ms)
        runs.append(time.perf_counter() - t0)
    rasters = _rasters(mons, steps, (n_h, n_h, n_out))
    return float(np.median(runs[1:])), runs[0], rasters


def main(argv=None):
    """Run the peer and write its results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('workload')
    ap.add_argument('result')
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--workdir', default='brian2_build')
    ap.add_argument('--target', choices=('auto', 'cpp_standalone', 'cython'), default='auto')
    args = ap.parse_args(argv)
    d = dict(np.load(args.workload, allow_pickle=False))
    import brian2
    res = {}
    target = args.target
    if target in ('auto', 'cpp_standalone'):
        try:
            on = run_standalone(d, True, args.repeats, args.workdir)
            off = run_standalone(d, False, args.repeats, args.workdir)
            target = 'cpp_standalone'
        except Exception as exc:  # noqa: BLE001 - any build failure means: fall back
            if args.target == 'cpp_standalone':
                raise
            print(json.dumps({'bench': 'core', 'case': 'reference', 'impl': 'brian2',
                              'metric': 'cpp_standalone_failed', 'value': 1, 'unit': 'flag',
                              'error': repr(exc)[:500]}), flush=True)
            target = 'cython'
    if target == 'cython':
        on = run_runtime(d, True, args.repeats)
        off = run_runtime(d, False, args.repeats)
    res['wall_on'], res['build_on'], (r1, r2, r3) = on
    res['wall_off'], res['build_off'], _ = off
    res['raster_l1'], res['raster_l2'], res['raster_out'] = r1, r2, r3
    res['target'] = np.array(target)
    res['brian2_version'] = np.array(brian2.__version__)
    usage = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    res['peak_rss_mb'] = usage / 1024.0
    np.savez(args.result, **res)
    return 0


if __name__ == '__main__':
    sys.exit(main())
