"""Plan, execute and report the learning study (the engine behind ``bench/learning.py``).

A *job* is a plain dict ``{'kind', 'seed', 'kwargs'}``; :func:`run_job` runs one in the
current process and returns its run record. :func:`execute` runs jobs in fresh worker
processes (one per job, so each peak RSS is the job's own) or in-process with ``n_jobs=0``.
"""

from __future__ import annotations

import datetime
import json
import multiprocessing
import os
from pathlib import Path
import platform
import time
from typing import Any

from snn_ros.study import bptt, ecg, emg, nmnist, report

FULL = {
    'nmnist': {'n_train': 1000, 'n_test': 100, 'epochs': nmnist.EPOCHS, 'n_hidden': 512,
               'pop_size': 4},
    'bptt': {'n_train': 1000, 'n_test': 100, 'epochs': nmnist.EPOCHS, 'n_hidden': 512,
             'pop_size': 4, 'batch_size': 25, 'lr': 5e-3},
    'ecg': {'duration_s': None, 'train_s': 300.0, 'n_hidden': 128},
    'emg': {'max_s': None, 'epochs': 3, 'n_hidden': 128},
}
QUICK = {
    'nmnist': {'n_train': 100, 'n_test': 50, 'epochs': 1, 'n_hidden': 128, 'pop_size': 4},
    'bptt': {'n_train': 100, 'n_test': 50, 'epochs': 2, 'n_hidden': 128, 'pop_size': 4,
             'batch_size': 25, 'lr': 5e-3},
    'ecg': {'duration_s': 180.0, 'train_s': 60.0, 'n_hidden': 64},
    'emg': {'max_s': None, 'epochs': 1, 'n_hidden': 64},
}
TINY = {
    'nmnist': {'n_train': 6, 'n_test': 4, 'epochs': 1, 'n_hidden': 64, 'pop_size': 2,
               'curve_block': 2},
    'bptt': {'n_train': 6, 'n_test': 4, 'epochs': 1, 'n_hidden': 64, 'pop_size': 2,
             'batch_size': 3},
    'ecg': {'duration_s': 30.0, 'train_s': 10.0, 'n_hidden': 32},
    'emg': {'max_s': 4.0, 'epochs': 1, 'n_hidden': 32},
}
TASKS = ('nmnist', 'ecg', 'emg')

NOTES = {
    'nmnist': (
        'N-MNIST subset (1000 train / 100 test, official split), 2 recurrent hidden layers, '
        f'10 ms steps, first 300 ms per sample, {nmnist.EPOCHS} online passes (epochs; sample '
        f'by sample, no batches) in shuffled order, learning rates times {nmnist.LR_DECAY} '
        'after each pass, test with learning off. Hidden eligibility events: spikes and every '
        'hidden neuron whose membrane reaches '
        f'{nmnist.ELIG_V_FRACTION} of its threshold (`plasticity.elig_v_fraction`, a '
        'one-sided box pseudo-derivative; with spikes only, full learning was 81.4 %). The '
        'schedule and this fraction were chosen on a held-out split '
        'of the training samples (`--holdout`: 800 train / 200 validation), not on the test '
        'samples. Every local setting uses them (`readout_only` is unaffected: its hidden '
        'learning rate is 0). `full`: all synapses learn, '
        'error through modulatory populations with fixed random feedback; `readout_only`: '
        'hidden learning rate 0; `direct`: error sent straight to each hidden neuron (no '
        'modulatory compression); `symmetric`: feedback from the current readout weights; '
        '`bptt`: the same architecture (sizes, masks, initial weights, LIF step order, each '
        "group's own decay and reset) trained with surrogate-gradient backprop through time "
        '(Adam, mini-batches of 25, '
        f'the same {nmnist.EPOCHS} epochs over the same 1000 samples; fixed thresholds). '
        'Learning curves of the '
        'local settings show the online accuracy of each block of training samples, decided '
        'while the sample is being taught (optimistic: weights change within the sample); '
        'BPTT shows training accuracy per epoch.'),
    'ecg': (
        'MIT-BIH record 100, lead MLII, 5-25 Hz band-pass, send-on-delta at 4 level spacings '
        '(0.02-0.16 mV), 10 ms steps, 40 ms decision windows, 1 recurrent layer. The network '
        'is taught online during the training span (`train_s`, from the start of the record; '
        'beat / no beat per window), then learning is switched off; sensitivity and positive '
        'predictivity are scored on the remaining record (test span) with a 150 ms '
        'matching window, beside a Pan-Tompkins detector scored on the same span '
        '(deterministic: one run).'),
    'emg': (
        'PhysioNet EMGDB, one record (one subject) per class; 250 ms windows; **split: the '
        'first 70 % of each record trains, the last 30 % tests** (same subjects, later time: '
        'not subject-independent, it cannot show generalisation to new patients). '
        '20-1000 Hz band-pass, send-on-delta at 6 level spacings, 1 ms steps, 1 recurrent '
        'layer, several shuffled online passes. Balanced accuracy = mean per-class recall '
        '(the test set is unbalanced; with the whole records: 14 / 32 / 43 windows).'),
    '_definitions': (
        '*mean, std*: over seeds (population std). *train time*: wall-clock seconds of '
        'training only, on a shared machine (other jobs ran at the same time; compare '
        'orders of magnitude). *synaptic updates*: for local learning, one per plastic '
        'synapse with a non-zero third factor per teaching event (the weight changes of the '
        'rule; the event-driven core folds them into catch-ups); for BPTT, one per '
        'trainable (unmasked) weight per optimizer step. *synaptic events*: spike '
        'deliveries (presynaptic spikes times out-degree) during training and test. '
        '*state memory*: bytes of all state arrays of the trained model (weights, traces, '
        'spike histories; BPTT: parameters, masks and Adam moments). *peak RSS*: the '
        'worker process that ran the job (includes Python, numba and data).'),
}


def plan(tasks: tuple[str, ...] = TASKS, seeds: int = 5, quick: bool = False,
         tiny: bool = False, bptt_seeds: int | None = None,
         overrides: dict[str, dict[str, Any]] | None = None, holdout: bool = False
         ) -> list[dict[str, Any]]:
    """Return the job list (longest first) for the tasks whose data are present.

    Absent data and a missing torch become ``skip`` jobs that yield skipped records. With
    ``holdout``, the N-MNIST jobs train and test on :func:`nmnist.holdout` (model selection
    without the test samples).
    """
    sizes = {k: dict(v) for k, v in (TINY if tiny else QUICK if quick else FULL).items()}
    for k, v in (overrides or {}).items():
        sizes[k].update(v)
    jobs: list[dict[str, Any]] = []
    seed_list = list(range(seeds))
    if 'nmnist' in tasks:
        if not nmnist.available():
            jobs.append(_skip('nmnist', 'full', 'accuracy', 'nmnist-small data absent'))
        else:
            n_b = seeds if bptt_seeds is None else bptt_seeds
            if not bptt.available():
                jobs.append(_skip('nmnist', 'bptt', 'accuracy', 'torch not importable'))
            else:
                jobs += [{'kind': 'bptt', 'seed': s, 'kwargs': sizes['bptt'],
                          'holdout': holdout} for s in range(n_b)]
            for setting in ('symmetric', 'full', 'direct', 'readout_only'):
                jobs += [{'kind': 'nmnist', 'setting': setting, 'seed': s,
                          'kwargs': sizes['nmnist'], 'holdout': holdout} for s in seed_list]
    if 'ecg' in tasks:
        if not ecg.available():
            jobs.append(_skip('ecg', 'snn_online', 'sensitivity', 'mitdb-100 data absent'))
        else:
            jobs += [{'kind': 'ecg', 'seed': s, 'kwargs': sizes['ecg']} for s in seed_list]
            jobs.append({'kind': 'pan_tompkins', 'seed': 0, 'kwargs': sizes['ecg']})
    if 'emg' in tasks:
        if not emg.available():
            jobs.append(_skip('emg', 'snn_online', 'accuracy', 'emgdb data absent'))
        else:
            jobs += [{'kind': 'emg', 'seed': s, 'kwargs': sizes['emg']} for s in seed_list]
    return jobs


def _skip(task: str, setting: str, metric: str, reason: str) -> dict[str, Any]:
    return {'kind': 'skip', 'seed': None,
            'record': {'task': task, 'setting': setting, 'seed': None, 'skipped': True,
                       'reason': reason, 'metrics': {metric: None}}}


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Run one job in this process and return its run record (with ``job_time_s``)."""
    t0 = time.perf_counter()
    kind, seed, kw = job['kind'], job['seed'], dict(job.get('kwargs', {}))
    if kind == 'skip':
        return dict(job['record'])
    if kind in ('nmnist', 'bptt'):
        data = nmnist.load()
        if job.get('holdout'):   # a validation split twice the test size (200 in full)
            kw['n_test'] = 2 * kw.get('n_test', 100)
            data = nmnist.holdout(data, n_val=kw['n_test'])
    if kind == 'nmnist':
        rec = nmnist.run(data, job['setting'], seed, **kw)
    elif kind == 'bptt':
        threads = int(os.environ.get('SNN_ROS_TORCH_THREADS', '1'))
        rec = bptt.run(data, seed, threads=threads, **kw)
    elif kind in ('ecg', 'pan_tompkins'):
        data = ecg.load(kw.pop('duration_s'))
        if kind == 'ecg':
            rec = ecg.run(data, seed, **kw)
        else:
            rec = ecg.run_pan_tompkins(data, train_s=kw['train_s'])
    elif kind == 'emg':
        rec = emg.run(emg.load(kw.pop('max_s')), seed, **kw)
    else:
        raise ValueError(f'unknown job kind {kind!r}')
    rec['job_time_s'] = time.perf_counter() - t0
    return rec


def _init_worker() -> None:
    for var in ('NUMBA_NUM_THREADS', 'OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS',
                'MKL_NUM_THREADS'):
        os.environ.setdefault(var, '1')


def execute(jobs: list[dict[str, Any]], n_jobs: int = 2, log=print) -> list[dict[str, Any]]:
    """Run every job; ``n_jobs`` worker processes (a fresh one per job), 0 = in-process."""
    if n_jobs <= 0:
        out = []
        for job in jobs:
            out.append(run_job(job))
            log(_line(out[-1]))
        return out
    ctx = multiprocessing.get_context('spawn')
    out = []
    with ctx.Pool(n_jobs, initializer=_init_worker, maxtasksperchild=1) as pool:
        for rec in pool.imap(run_job, jobs):
            out.append(rec)
            log(_line(rec))
    return out


def _line(rec: dict[str, Any]) -> str:
    m = ', '.join(f'{k} {v:.3f}' if isinstance(v, float) else f'{k} {v}'
                  for k, v in rec.get('metrics', {}).items())
    extra = f" ({rec.get('job_time_s', 0):.0f} s)" if 'job_time_s' in rec else ''
    skip = f" skipped: {rec.get('reason')}" if rec.get('skipped') else ''
    return f"{rec['task']}/{rec['setting']} seed {rec.get('seed')}: {m}{extra}{skip}"


def targets(summary: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Return the issue's targets with the measured values and whether each is met."""
    def get(task: str, setting: str, metric: str, key: str = 'mean') -> float | None:
        for r in summary:
            if (r['task'], r['setting'], r['metric']) == (task, setting, metric):
                return r[key]
        return None

    def pct(v: float | None) -> str:
        return 'n/a' if v is None else f'{100 * v:.1f} %'

    def met(ok: bool | None) -> str:
        return 'n/a' if ok is None else 'yes' if ok else '**no**'

    full = get('nmnist', 'full', 'accuracy')
    ro = get('nmnist', 'readout_only', 'accuracy')
    bp = get('nmnist', 'bptt', 'accuracy')
    se = get('ecg', 'snn_online', 'sensitivity')
    pp = get('ecg', 'snn_online', 'positive_predictivity')
    gap = None if full is None or bp is None else 100 * (bp - full)
    stds = [get('nmnist', k, 'accuracy', 'std') for k in ('full', 'readout_only')]
    spread = None if None in stds else max(v or 0.0 for v in stds)
    return [
        {'target': 'N-MNIST local learning (full) >= 80 %', 'measured': pct(full),
         'met': met(None if full is None else full >= 0.8)},
        {'target': 'N-MNIST full within 5 points of BPTT (goal 3)',
         'measured': 'n/a' if gap is None else f'BPTT {pct(bp)}, gap {gap:.1f} points',
         'met': met(None if gap is None else gap <= 5.0)},
        {'target': 'N-MNIST full beats readout-only (by more than the seed spread)',
         'measured': f'{pct(full)} vs {pct(ro)}, spread (std) {pct(spread)}',
         'met': met(None if full is None or ro is None or spread is None
                    else full - ro > spread)},
        {'target': 'ECG sensitivity >= 97 %', 'measured': pct(se),
         'met': met(None if se is None else se >= 0.97)},
        {'target': 'ECG positive predictivity >= 97 %', 'measured': pct(pp),
         'met': met(None if pp is None else pp >= 0.97)},
    ]


def rerender(out_dir: str) -> dict[str, Any]:
    """Rewrite ``results.md``/``.json`` and figures of ``out_dir`` from its stored runs."""
    doc = json.loads((Path(out_dir) / 'results.json').read_text())
    meta = dict(doc['meta'], targets=targets(report.summarize(doc['runs'])))
    return report.write(doc['runs'], out_dir, meta, NOTES)


def study(out_dir: str, *, tasks: tuple[str, ...] = TASKS, seeds: int = 5, quick: bool = False,
          tiny: bool = False, n_jobs: int = 2, bptt_seeds: int | None = None,
          overrides: dict[str, dict[str, Any]] | None = None, command: str = '',
          holdout: bool = False, log=print) -> dict[str, Any]:
    """Plan, run and report the study; return the JSON document written to ``out_dir``.

    With ``holdout`` the N-MNIST settings are scored on a validation split of the training
    samples (see :func:`plan`); ``meta['nmnist_split']`` says which.
    """
    t0 = time.perf_counter()
    load = os.getloadavg()
    jobs = plan(tasks, seeds, quick, tiny, bptt_seeds, overrides, holdout)
    runs = execute(jobs, n_jobs, log)
    summary = report.summarize(runs)
    meta = {'command': command, 'quick': quick or tiny, 'seeds': seeds,
            'bptt_seeds': seeds if bptt_seeds is None else bptt_seeds,
            'date': datetime.datetime.now().isoformat(timespec='seconds'),
            'run_time_s': time.perf_counter() - t0, 'n_jobs': n_jobs,
            'nmnist_split': ('holdout: a validation split of train1K, twice the test size '
                             '(800 train / 200 validation in the full study)' if holdout
                             else 'official: train1K / test100'),
            'machine': f'{platform.machine()}, {os.cpu_count()} CPUs, load average at start '
                       f'{load[0]:.1f} (shared), Python {platform.python_version()}',
            'targets': targets(summary)}
    return report.write(runs, out_dir, meta, NOTES)
