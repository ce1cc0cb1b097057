"""Run folders: summary.json, saved arrays and non-empty PNG figures; ``report`` redraws them."""

from __future__ import annotations

import json

import numpy as np

from snn_ros.cli import main as cli_main
from snn_ros.report import config_hash, FIGURES, make_figures, new_run_dir, record_raster, \
    RunRecorder


def _recorder(tmp_path):
    from snn_ros.core.config import NetworkConfig
    from snn_ros.core.network import Network

    layers = {'n_layers': 2, 'n_hidden': 32, 'block_size': 16, 'w_input': 0.8, 'p_input': 0.5}
    cfg = NetworkConfig.from_dict({'n_inputs': 40, 'layers': layers,
                                   'readout': {'n_classes': 3, 'pop_size': 2}})
    net = Network(cfg, 1)
    rec = RunRecorder(tmp_path / 'run', 3, ['a', 'b', 'c'])
    rec.set_weights(net, 'before')
    rng = np.random.default_rng(0)
    steps = [rng.choice(40, 12, replace=False) for _ in range(60)]
    for k in range(5):
        net.run(steps)
        net.teach(k % 3)
        rec.add_network_stats(0.06 * (k + 1), net.stats())
    rec.set_weights(net, 'after')
    rec.raster = record_raster(net, steps[:30])
    for k in range(30):
        rec.add_decision(k * 0.1, k % 3 if k % 4 else (k + 1) % 3, k % 3, k >= 20)
    return rec


def test_run_folder_has_summary_arrays_and_nonempty_figures(tmp_path):
    rec = _recorder(tmp_path)
    summary = rec.finish({'seed': 1, 'config_hash': config_hash({'x': 1})})
    run = tmp_path / 'run'
    data = json.loads((run / 'summary.json').read_text())
    assert data['n_test'] == 10 and 0.0 <= data['accuracy'] <= 1.0
    assert np.asarray(data['confusion_matrix']).sum() == 10
    assert data['seed'] == 1 and len(data['config_hash']) == 16
    assert set(data['rates_hz']) == {'mean_per_group'}
    assert (run / 'arrays.npz').is_file()
    assert sorted(p.split('/')[-1] for p in summary['figures']) == sorted(FIGURES)
    for name in FIGURES:
        png = run / name
        assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
        assert png.stat().st_size > 5000, name


def test_raster_has_every_layer_and_the_input(tmp_path):
    rec = _recorder(tmp_path)
    assert set(rec.raster) == {'input', 'layer1', 'layer2', 'readout'}
    assert rec.raster['input'].shape[0] == 2 and rec.raster['input'].shape[1] == 30 * 12


def test_report_command_regenerates_the_figures(tmp_path, capsys):
    rec = _recorder(tmp_path)
    rec.finish(figures=False)
    run = tmp_path / 'run'
    assert not (run / 'raster.png').exists()
    assert cli_main(['report', str(run)]) == 0
    out = capsys.readouterr().out.split()
    assert len(out) == len(FIGURES)
    for name in FIGURES:
        assert (run / name).stat().st_size > 5000


def test_report_of_a_missing_or_empty_folder_is_a_clear_error(tmp_path, capsys):
    assert cli_main(['report', str(tmp_path / 'nope')]) == 2
    assert 'snn-ros: error: run folder not found' in capsys.readouterr().err
    assert cli_main(['report', str(tmp_path)]) == 2
    assert 'arrays.npz' in capsys.readouterr().err


def test_figures_from_an_empty_run_still_render(tmp_path):
    rec = RunRecorder(tmp_path / 'empty', 10)
    rec.finish(figures=False)
    for p in make_figures(tmp_path / 'empty'):
        assert p.stat().st_size > 1000


def test_new_run_dir_is_unique(tmp_path):
    a = new_run_dir(tmp_path, 'x')
    b = new_run_dir(tmp_path, 'x')
    assert a != b and a.is_dir() and b.is_dir()
