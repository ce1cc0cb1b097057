"""Learning study: local learning with modulatory feedback on real data, next to baselines.

Run from the repository root::

    .venv/bin/python -m bench.learning                 # the study (about 36 min on 2 shared cores)
    .venv/bin/python -m bench.learning --quick         # small sizes, a couple of minutes
    .venv/bin/python -m bench.learning --seeds 5 --out docs/
    .venv/bin/python -m bench.learning --holdout --tasks nmnist --out /tmp/val   # selection

Tasks (each skipped with a note when its data folder under ``../shared/data`` is absent):
N-MNIST (settings full, readout_only, direct, symmetric and the BPTT baseline, which is
recorded as skipped when torch is not importable), ECG beat detection on MIT-BIH 100 (beside
Pan-Tompkins) and EMG healthy / myopathy / neuropathy. Writes ``results.md``,
``results.json`` and learning-curve PNGs into ``--out`` and prints the summary records as
JSON lines.
"""

from __future__ import annotations

import os

for _var in ('NUMBA_NUM_THREADS', 'OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_var, '1')

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

from snn_ros.study import run as study_run  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run the study and print one JSON line per summary record."""
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='small sizes (smoke run)')
    ap.add_argument('--seeds', type=int, default=5, help='seeds per setting (default 5)')
    ap.add_argument('--bptt-seeds', type=int, default=None,
                    help='seeds of the BPTT baseline (default: --seeds)')
    ap.add_argument('--bptt-epochs', type=int, default=None, help='BPTT epochs')
    ap.add_argument('--out', default='docs', help='output folder (default docs/)')
    ap.add_argument('--tasks', default=','.join(study_run.TASKS),
                    help='comma-separated subset of ' + ','.join(study_run.TASKS))
    ap.add_argument('--jobs', type=int, default=2,
                    help='worker processes (one fresh process per run); 0 = in-process')
    ap.add_argument('--holdout', action='store_true',
                    help='N-MNIST on a validation split of the training samples (800 / 200) '
                         'instead of the test samples: for choosing parameters; use another --out')
    ap.add_argument('--render', action='store_true',
                    help='only rewrite results.md and the figures from OUT/results.json')
    args = ap.parse_args(argv)
    if args.render:
        study_run.rerender(args.out)
        return 0
    tasks = tuple(t for t in args.tasks.split(',') if t)
    bad = [t for t in tasks if t not in study_run.TASKS]
    if bad:
        ap.error(f'unknown tasks {bad}; valid: {list(study_run.TASKS)}')
    overrides = {}
    if args.bptt_epochs is not None:
        overrides['bptt'] = {'epochs': args.bptt_epochs}
    command = '.venv/bin/python -m bench.learning ' + ' '.join(
        argv if argv is not None else sys.argv[1:])

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    doc = study_run.study(args.out, tasks=tasks, seeds=args.seeds, quick=args.quick,
                          n_jobs=args.jobs, bptt_seeds=args.bptt_seeds, overrides=overrides,
                          command=command.strip(), holdout=args.holdout, log=log)
    for rec in doc['records']:
        keys = ('task', 'setting', 'metric', 'mean', 'std', 'n_seeds', 'train_time_s',
                'synaptic_updates')
        print(json.dumps({k: rec.get(k) for k in keys}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
