"""``snn-ros demo --short``: digits -> events -> evt3 packets -> ROS graph -> learning, report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from snn_ros.cli import main as cli_main

pytestmark = pytest.mark.ros

#: stated accuracy of the short demo: 60 test digits after 300 training digits, chance 0.10
#: (measured 0.32 at seed 0; the bound leaves room for run-to-run float differences)
SHORT_MIN_ACCURACY = 0.2


def test_demo_short_learns_online_through_the_graph_and_reports(tmp_path, capsys):
    rc = cli_main(['demo', '--short', '--runs', str(tmp_path)])
    assert rc == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert any('running accuracy' in ln for ln in lines)
    result = json.loads(lines[-1])
    assert set(result) == {'accuracy', 'n_test', 'run_dir'}
    assert result['n_test'] == 60
    assert result['accuracy'] >= SHORT_MIN_ACCURACY
    run = Path(result['run_dir'])
    summary = json.loads((run / 'summary.json').read_text())
    assert summary['accuracy'] == pytest.approx(result['accuracy'], abs=1e-4)
    cm = np.asarray(summary['confusion_matrix'])
    assert cm.shape == (10, 10) and cm.sum() == 60
    # every EventPacket went through the live graph
    nodes = summary['nodes']
    assert nodes['event_camera']['decoded'] == 3 * 360 and nodes['event_camera']['rejected'] == 0
    assert nodes['snn_core']['labels'] == 360 and nodes['snn_core']['teach_events'] > 0
    assert nodes['readout']['decisions'] > 0
    for key in ('config_hash', 'seed', 'timings', 'rates_hz'):
        assert key in summary
    for name in ('raster.png', 'rates.png', 'learning_curve.png', 'confusion.png',
                 'weights.png', 'modulation.png'):
        assert (run / name).stat().st_size > 5000, name
    # the input bag of the run replays offline (same stream, ROS-free)
    assert (run / 'input_bag' / 'metadata.yaml').is_file()


def test_digit_events_look_like_nmnist():
    from snn_ros.demo import digits_dataset, image_events, saccade_path

    xtr, ytr, xte, yte = digits_dataset(5, 2, seed=1)
    assert xtr.shape == (5, 34, 34) and set(ytr) <= set(range(10))
    x, y, p, t = image_events(xtr[0], 0)
    assert 1000 < x.size < 20000
    assert x.max() < 34 and y.max() < 34 and set(np.unique(p)) == {0, 1}
    assert np.all(np.diff(t) >= 0) and t[-1] < 300_000_000
    dx, dy = saccade_path(np.array([0.0, 100.0, 200.0, 300.0]))
    assert dx[0] == dx[-1] and dy[0] == dy[-1]  # the three saccades close the triangle


def test_nmnist_reader_uses_the_real_recordings(tmp_path, monkeypatch):
    from conftest import shared_data
    from snn_ros.demo import nmnist_dataset

    root = shared_data('nmnist-small')
    monkeypatch.setenv('XDG_CACHE_HOME', str(Path.home() / '.cache'))
    ds = nmnist_dataset(root, 3, 2)
    assert len(ds['train']) == 3 and len(ds['test']) == 2
    x, y, p, t, label = ds['test'][0]
    assert label == 7 and x.size == 3330  # first N-MNIST test sample (SOURCE.md)
