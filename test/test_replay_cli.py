"""``snn-ros replay`` / ``play``: JSON out, run folder, clear errors without a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path
import subprocess
import sys

import pytest

from snn_ros.cli import main as cli_main

from _replay_bags import PARAMS_YAML, storage_file, write_test_bag

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope='module')
def bag_and_params(tmp_path_factory):
    d = tmp_path_factory.mktemp('cli')
    params = d / 'params.yaml'
    params.write_text(PARAMS_YAML)
    return write_test_bag(d / 'bag', 'mcap'), params


def test_missing_bag_exits_2_without_traceback(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    p = subprocess.run([sys.executable, '-m', 'snn_ros.cli', 'replay', str(tmp_path / 'nope')],
                       capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert p.returncode == 2
    assert 'snn-ros: error: bag not found' in p.stderr
    assert 'Traceback' not in p.stderr and p.stdout == ''


def test_replay_prints_json_and_writes_run_folder_and_output_bag(tmp_path, bag_and_params,
                                                                 capsys):
    bag, params = bag_and_params
    labels = tmp_path / 'labels.csv'
    labels.write_text('start_s,end_s,label\n0,0.4,0\n0.4,1.5,2\n')
    rc = cli_main(['replay', str(bag), '--config', str(params), '--labels', str(labels),
                   '--out', str(tmp_path / 'out'), '--runs', str(tmp_path / 'runs')])
    assert rc == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out['sensor_messages'] == 70 and out['decisions'] > 0
    assert out['accuracy'] is not None and out['output_bag'] == str(tmp_path / 'out')
    run = Path(out['run_dir'])
    assert (run / 'summary.json').is_file()
    assert all(Path(f).stat().st_size > 1000 for f in out['figures'])
    assert (tmp_path / 'out' / 'metadata.yaml').is_file()


def _garbage(path):
    path.write_bytes(b'garbage' * 20)
    return str(path)


@pytest.mark.parametrize('make,args,needle', [
    (lambda t, b: str(b), ['--topic', '/nope=imu'], 'not in the bag'),
    (lambda t, b: str(b), ['--topic', '/imu/imu=event_camera'], 'takes'),
    (lambda t, b: str(b), ['--topic', 'oops'], 'TOPIC=NODE'),
    (lambda t, b: _garbage(t / 'x.mcap'), [], 'not a bag'),
    (lambda t, b: str(b), ['--labels', '/no/labels.csv'], 'labels file not found'),
    (lambda t, b: str(b), ['--checkpoint', '/no/ck.npz'], 'cannot load checkpoint'),
])
def test_input_errors_exit_2_with_one_line(tmp_path, bag_and_params, capsys, make, args,
                                           needle):
    bag, params = bag_and_params
    rc = cli_main(['replay', make(tmp_path, bag), '--config', str(params), '--no-report']
                  + args)
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith('snn-ros: error:') and needle in err
    assert 'Traceback' not in err


def test_truncated_bag_replays_with_a_warning(tmp_path, bag_and_params, capsys):
    bag, params = bag_and_params
    big = write_test_bag(tmp_path / 'big', 'mcap', n_packets=60, packet_ns=10_000_000,
                         n_events=12000)
    src = storage_file(big)
    cut = tmp_path / 'cut.mcap'
    cut.write_bytes(src.read_bytes()[:int(src.stat().st_size * 0.7)])
    rc = cli_main(['replay', str(cut), '--config', str(params), '--no-report'])
    cap = capsys.readouterr()
    assert rc == 0
    assert 'snn-ros: warning: bag index unreadable' in cap.err
    out = json.loads(cap.out.strip().splitlines()[-1])
    assert out['bags'][0]['truncated'] is True and out['sensor_messages'] > 0


def test_play_missing_bag_is_a_clear_error(tmp_path, capsys):
    assert cli_main(['play', str(tmp_path / 'nope.mcap')]) == 2
    assert 'snn-ros: error: bag not found' in capsys.readouterr().err
