"""``snn-ros``: the demo, fast offline replay, live replay into the graph, and reports.

Usage::

    python -m snn_ros.cli demo [--short] [--data NMNIST_FOLDER_OR_TAR]
    python -m snn_ros.cli replay BAG [BAG ...] [--config PARAMS.yaml] [--labels FILE]
                                 [--label-topic TOPIC] [--checkpoint NPZ] [--out OUT_BAG]
    python -m snn_ros.cli play BAG [--rate 1.0] [--remap FROM:=TO] [--graph PARAMS.yaml]
    python -m snn_ros.cli report RUN_DIR

The same entry point is installed as ``ros2 run snn_ros snn_ros_cli`` (and ``snn_ros_demo``,
``snn_ros_replay``, ``snn_ros_play``, ``snn_ros_report`` for one subcommand each). Problems
with the input (missing bag, unknown topic, undecodable type, corrupt bag, bad parameters)
print one ``snn-ros: error: ...`` line and exit with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import sys
from typing import Any

EXIT_INPUT_ERROR = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog='snn-ros', description='The demo, fast offline replay, live replay into the ROS '
        'graph, and run reports of snn_ros.')
    sub = p.add_subparsers(dest='command', required=True)

    d = sub.add_parser('demo', help='event-camera digit classification through the ROS graph')
    d.add_argument('--short', action='store_true', help='quick setting (test suite)')
    d.add_argument('--data', help='N-MNIST folder or NMNISTsmall.tar.xz instead of the '
                                  'emulated digits')
    d.add_argument('--n-train', type=int, help='training samples')
    d.add_argument('--n-test', type=int, help='test samples')
    d.add_argument('--n-hidden', type=int, help='hidden neurons per layer')
    d.add_argument('--seed', type=int, default=0, help='network and data seed')
    d.add_argument('--runs', default='runs', help='folder for run folders (default runs/)')
    d.add_argument('--quiet', action='store_true', help='only print the final JSON line')

    r = sub.add_parser('replay', help='fast offline replay (no ROS graph), JSON summary')
    r.add_argument('bags', nargs='+', metavar='BAG',
                   help='ROS 2 bag folder, .mcap/.db3 file or ROS 1 .bag (several: in order)')
    r.add_argument('--config', '--params', dest='config',
                   help='params YAML keyed by node name (as for launch / snn_ros_composed)')
    r.add_argument('--labels', help="CSV of 'start_s,end_s,label' intervals, or a file of "
                                    "'recording label' lines (one label per recording)")
    r.add_argument('--label-topic', help='std_msgs/Int32 topic of the bag with labels '
                                         '(default: /snn_core/label when present)')
    r.add_argument('--topic', action='append', default=[], metavar='TOPIC=NODE',
                   help='send a bag topic to an adapter node (event_camera, imu, biosignal, '
                        'image, joint_state, laser_scan, array); default: by message type')
    r.add_argument('--checkpoint', help='start from this network checkpoint (.npz)')
    r.add_argument('--save-checkpoint', help='save the network here at the end')
    r.add_argument('--learning', choices=('on', 'off'), help='force learning on or off')
    r.add_argument('--seed', type=int, help='network seed (default: the params)')
    r.add_argument('--out', help='write decisions, commands and status to this bag')
    r.add_argument('--storage', choices=('mcap', 'sqlite3'), default='mcap',
                   help='output bag storage (default mcap)')
    r.add_argument('--spikes', action='store_true', help='also record spikes in --out')
    r.add_argument('--max-messages', type=int, help='stop after this many sensor messages')
    r.add_argument('--runs', default='runs', help='folder for run folders (default runs/)')
    r.add_argument('--no-report', action='store_true', help='no run folder, JSON only')
    r.add_argument('--no-progress', action='store_true', help='no progress bar')

    pl = sub.add_parser('play', help='live replay into the ROS graph (original timing, /clock)')
    pl.add_argument('bags', nargs='+', metavar='BAG')
    pl.add_argument('--rate', type=float, default=1.0, help='speed factor (default 1.0)')
    pl.add_argument('--remap', action='append', default=[], metavar='FROM:=TO',
                    help='publish bag topic FROM as TO')
    pl.add_argument('--topics', nargs='+', help='only these bag topics')
    pl.add_argument('--no-clock', action='store_true', help='do not publish /clock')
    pl.add_argument('--graph', metavar='PARAMS.yaml',
                    help='also run the snn_ros nodes (composed, this process) and collect '
                         'their decisions')
    pl.add_argument('--adapters', help='with --graph: comma-separated adapter nodes '
                                       '(default: by the bag message types)')
    pl.add_argument('--lockstep', action='store_true',
                    help='with --graph: publish each message only when the graph finished '
                         'the previous one (nothing dropped; equals the offline replay)')
    pl.add_argument('--no-progress', action='store_true', help='no progress bar')

    rp = sub.add_parser('report', help='regenerate the figures of a run folder')
    rp.add_argument('run_dir', metavar='RUN_DIR')
    return p


def _labels_kind(path: str) -> str:
    """Return 'csv' (start,end,label rows) or 'recording' (name label lines)."""
    p = Path(path)
    if not p.is_file():
        from snn_ros.bagio import ReplayError
        raise ReplayError(f'labels file not found: {p}')
    for line in p.read_text().splitlines():
        s = line.strip()
        if not s or s.startswith('#'):
            continue
        parts = [x for x in s.replace(',', ' ').split() if x]
        if parts and not _num(parts[0]) and len(parts) >= 3:
            return 'csv'  # a header row such as start_s,end_s,label
        return 'csv' if len(parts) >= 3 else 'recording'
    return 'csv'


def _num(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def cmd_replay(a: argparse.Namespace) -> int:
    from snn_ros.replay import load_params, replay
    from snn_ros.report import config_hash, new_run_dir, RunRecorder

    params = load_params(a.config)
    topics = {}
    for spec in a.topic:
        if '=' not in spec:
            from snn_ros.bagio import ReplayError
            raise ReplayError(f'--topic {spec!r} must look like TOPIC=NODE')
        t, n = spec.split('=', 1)
        topics[t] = n
    kw: dict[str, Any] = {}
    if a.labels:
        kw['labels_csv' if _labels_kind(a.labels) == 'csv' else 'labels_file'] = a.labels
    recorder = None
    run_dir = None
    if not a.no_report:
        run_dir = new_run_dir(a.runs, 'replay')
        n_classes = int(params.get('snn_core', {}).get('readout.n_classes', 10))
        recorder = RunRecorder(run_dir, n_classes)
    res = replay(a.bags, params, topics=topics or None, label_topic=a.label_topic,
                 checkpoint=a.checkpoint, save_checkpoint=a.save_checkpoint,
                 learning=None if a.learning is None else a.learning == 'on', seed=a.seed,
                 output_bag=a.out, output_storage=a.storage, record_spikes=a.spikes,
                 recorder=recorder, progress=not a.no_progress and sys.stderr.isatty(),
                 max_messages=a.max_messages, **kw)
    summary = res.summary
    summary['config_hash'] = config_hash(params)
    for b in summary['bags']:
        for w in b['warnings']:
            print(f'snn-ros: warning: {w}', file=sys.stderr)
    if recorder is not None:
        if res.network is not None:
            recorder.set_weights(res.network, 'after')
        rep = recorder.finish({k: v for k, v in summary.items() if k not in ('accuracy',)})
        summary['run_dir'] = str(run_dir)
        summary['figures'] = rep.get('figures', [])
        summary['confusion_matrix'] = rep.get('confusion_matrix')
    print(json.dumps(summary, default=str))
    return 0


def cmd_play(a: argparse.Namespace) -> int:
    from snn_ros.play import parse_remaps, play

    res = play(a.bags, rate=a.rate, remap=parse_remaps(a.remap), topics=a.topics,
               clock=not a.no_clock, graph=a.graph,
               adapters=[x for x in a.adapters.split(',') if x] if a.adapters else None,
               lockstep=a.lockstep, progress=not a.no_progress and sys.stderr.isatty())
    out = {k: v for k, v in res.items() if k != 'decisions'}
    if 'decisions' in res:
        out['n_decisions'] = len(res['decisions'])
        out['decisions'] = [{'stamp_ns': s, 'class_index': c, 'spike_counts': n}
                            for s, c, n in res['decisions']]
    for w in res.get('warnings', []):
        print(f'snn-ros: warning: {w}', file=sys.stderr)
    print(json.dumps(out, default=str))
    return 0


def cmd_demo(a: argparse.Namespace) -> int:
    from snn_ros.demo import run_demo

    summary = run_demo(short=a.short, data=a.data, n_train=a.n_train, n_test=a.n_test,
                       n_hidden=a.n_hidden, seed=a.seed, runs_dir=a.runs, quiet=a.quiet)
    print(json.dumps({'accuracy': round(float(summary['accuracy']), 4),
                      'n_test': int(summary['n_test']), 'run_dir': summary['run_dir']}))
    return 0


def cmd_report(a: argparse.Namespace) -> int:
    from snn_ros.report import make_figures

    run = Path(a.run_dir)
    if not run.is_dir():
        raise FileNotFoundError(f'run folder not found: {run}')
    for f in make_figures(run):
        print(f)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the ``snn-ros`` command line; return the exit status."""
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    a = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    from snn_ros.bagio import ReplayError
    try:
        from snn_ros.core.errors import CoreError
    except ImportError:  # pragma: no cover - the core is part of the package
        CoreError = ReplayError  # noqa: N806
    handlers = {'demo': cmd_demo, 'replay': cmd_replay, 'play': cmd_play,
                'report': cmd_report}
    try:
        return handlers[a.command](a)
    except (ReplayError, CoreError, FileNotFoundError) as err:
        print(f'snn-ros: error: {err}', file=sys.stderr)
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        print('snn-ros: interrupted', file=sys.stderr)
        return 130


def demo_main() -> int:
    """Entry point ``snn_ros_demo`` (``snn-ros demo``)."""
    return main(['demo'] + sys.argv[1:])


def replay_main() -> int:
    """Entry point ``snn_ros_replay`` (``snn-ros replay``)."""
    return main(['replay'] + sys.argv[1:])


def play_main() -> int:
    """Entry point ``snn_ros_play`` (``snn-ros play``)."""
    return main(['play'] + sys.argv[1:])


def report_main() -> int:
    """Entry point ``snn_ros_report`` (``snn-ros report``)."""
    return main(['report'] + sys.argv[1:])


if __name__ == '__main__':
    sys.exit(main())
