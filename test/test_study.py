"""The learning study pipeline on a few samples: it must produce the tables and JSON records.

These tests check the plumbing (records, files, skips), never the accuracy. Parts whose data
are absent are recorded as skipped, which the tests accept; torch is never needed (the BPTT
setting is forced to the skipped path).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from snn_ros.core import Network
from snn_ros.core.config import load_yaml
from snn_ros.core.params import apply
from snn_ros.study import bptt, ecg, emg, nmnist, report
from snn_ros.study import run as study_run

KEYS = ('task', 'setting', 'metric', 'mean', 'std', 'n_seeds')


@pytest.fixture(scope='module')
def tiny_study(tmp_path_factory):
    """Run the tiny study once (in-process, one seed, BPTT forced to skip)."""
    out = tmp_path_factory.mktemp('study')
    mp = pytest.MonkeyPatch()
    mp.setattr(bptt, 'available', lambda: False)
    try:
        doc = study_run.study(str(out), tiny=True, seeds=1, n_jobs=0, command='test',
                              log=lambda s: None)
    finally:
        mp.undo()
    return out, doc


def test_study_writes_table_json_and_curves(tiny_study):
    out, doc = tiny_study
    on_disk = json.loads((out / 'results.json').read_text())
    assert on_disk['records'] == json.loads(json.dumps(doc['records']))
    md = (out / 'results.md').read_text()
    assert '| setting | metric | mean (%)' in md
    for rec in on_disk['records']:
        assert all(k in rec for k in KEYS)
        assert rec['task'] in ('nmnist', 'ecg', 'emg')
        if rec.get('skipped'):
            assert rec['mean'] is None and rec['n_seeds'] == 0 and rec['reason']
        else:
            assert 0.0 <= rec['mean'] <= 1.0 and rec['std'] >= 0.0 and rec['n_seeds'] == 1
            assert rec['train_time_s'] is not None
        assert f"## {rec['task']}" in md
    for name in on_disk['figures']:
        assert (out / name).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert [t['target'] for t in on_disk['meta']['targets']]


def test_rerender_rewrites_the_report_from_the_stored_runs(tiny_study):
    out, doc = tiny_study
    md_before = (out / 'results.md').read_text()
    (out / 'results.md').unlink()
    again = study_run.rerender(str(out))
    assert (out / 'results.md').read_text() == md_before
    assert again['records'] == json.loads(json.dumps(doc['records']))


def test_full_beats_readout_only_only_by_more_than_the_seed_spread():
    def rec(setting, mean, std):
        return {'task': 'nmnist', 'setting': setting, 'metric': 'accuracy', 'mean': mean,
                'std': std}

    def verdict(full, ro, std):
        rows = study_run.targets([rec('full', full, std), rec('readout_only', ro, std)])
        return next(t['met'] for t in rows if 'readout-only' in t['target'])

    assert verdict(0.70, 0.62, 0.03) == 'yes'
    assert verdict(0.647, 0.623, 0.029) == '**no**'
    assert verdict(0.60, 0.62, 0.01) == '**no**'


def test_study_covers_every_present_task_and_setting(tiny_study):
    _, doc = tiny_study
    got = {(r['task'], r['setting']) for r in doc['records']}
    if nmnist.available():
        assert {('nmnist', s) for s in nmnist.SETTINGS} <= got
        bp = [r for r in doc['records'] if r['setting'] == 'bptt']
        assert bp and bp[0]['skipped'] and 'torch' in bp[0]['reason']
    if ecg.available():
        assert {('ecg', 'snn_online'), ('ecg', 'pan_tompkins')} <= got
    if emg.available():
        assert ('emg', 'snn_online') in got


def test_nmnist_study_network_is_the_config_file():
    yaml = Path(__file__).resolve().parent.parent / 'config' / 'nmnist.yaml'
    cfg = load_yaml(yaml, 'snn_core')
    assert nmnist.config('full') == cfg
    assert nmnist.config('readout_only') == apply(cfg, {'plasticity.lr_hidden': 0.0})
    assert study_run.FULL['nmnist']['epochs'] == study_run.FULL['bptt']['epochs']
    assert (study_run.FULL['nmnist']['n_hidden'], study_run.FULL['nmnist']['pop_size']) == (
        cfg.layers.n_hidden, cfg.readout.pop_size)


def test_absent_data_gives_skipped_records(tmp_path, monkeypatch):
    monkeypatch.setenv('SNN_ROS_SHARED_DATA', str(tmp_path / 'nothing'))
    doc = study_run.study(str(tmp_path / 'out'), tiny=True, seeds=1, n_jobs=0,
                          log=lambda s: None)
    assert doc['records'] and all(r['skipped'] for r in doc['records'])
    assert (tmp_path / 'out' / 'results.md').is_file()


def test_summary_mean_and_std_over_seeds():
    runs = [{'task': 't', 'setting': 's', 'seed': k, 'metrics': {'m': v}, 'train_time_s': 1.0}
            for k, v in enumerate((0.5, 0.7))]
    (rec,) = report.summarize(runs)
    assert rec['mean'] == pytest.approx(0.6) and rec['std'] == pytest.approx(0.1)
    assert rec['n_seeds'] == 2 and rec['values'] == [0.5, 0.7]


def test_beat_scoring_matches_within_tolerance_one_to_one():
    ref = np.array([1.0, 2.0, 3.0, 4.0])
    det = np.array([1.1, 1.12, 2.2, 3.0, 5.0])
    sc = ecg.score(ref, det, tolerance_s=0.15)
    assert (sc['tp'], sc['fn'], sc['fp']) == (2, 2, 3)
    assert ecg.merge_detections(np.array([0.0, 0.1, 0.25, 0.3])).tolist() == [0.0, 0.25]
    assert ecg.run_onsets(np.array([0, 1, 1, 0, 1, 0, 0, 1])).tolist() == [1.0, 7.0]


def test_pan_tompkins_finds_synthetic_beats():
    fs = 360.0
    t = np.arange(int(20 * fs)) / fs
    beats = np.arange(0.5, 19.5, 0.8)
    x = 0.05 * np.sin(2 * np.pi * 0.3 * t)
    for b in beats:
        x += np.exp(-0.5 * ((t - b) / 0.012) ** 2)
    det = ecg.pan_tompkins(x, fs)
    sc = ecg.score(beats[beats > 2.0], det[det > 2.0])
    assert sc['sensitivity'] == 1.0 and sc['positive_predictivity'] == 1.0


def test_bptt_twin_runs_when_torch_is_present():
    pytest.importorskip('torch')
    data = nmnist.load()
    if data is None:
        pytest.skip('nmnist-small data absent')
    rec = bptt.run(data, 0, **study_run.TINY['bptt'])
    assert rec['setting'] == 'bptt' and 0.0 <= rec['metrics']['accuracy'] <= 1.0
    arch = bptt.architecture(64, 2, 0)
    assert [p['name'] for p in arch['projections']][0] == 'input_l1'
    assert all(p['w'][p['mask'] == 0].sum() == 0 for p in arch['projections'])


@pytest.mark.parametrize('over', [{}, {'neuron.reset': 'subtract', 'readout.reset': 'zero'}])
def test_bptt_twin_forward_is_the_core_dynamics(monkeypatch, over):
    """Same config, seed and input: the twin's readout counts equal the core's spike counts.

    The core runs with homeostasis and learning off (the twin's thresholds are fixed); the
    twin runs in float64, so the only differences are the surrogate gradient and the loss.
    """
    torch = pytest.importorskip('torch')
    data = nmnist.load()
    if data is None:
        pytest.skip('nmnist-small data absent')
    base = nmnist.config
    monkeypatch.setattr(nmnist, 'config', lambda *a: apply(base(*a), over))
    arch = bptt.architecture(64, 2, 0)
    model = bptt._build(arch, 5.0).double()
    cfg = apply(nmnist.config('full', 64, 2), {'neuron.homeostasis': False,
                                               'plasticity.learning': False})
    net = Network(cfg, 0)
    for i in range(4):
        x = torch.from_numpy(nmnist.dense_sample(data, 'train', i)).double()[:, None, :]
        twin = model(x).detach().numpy()[0] * cfg.readout.pop_size
        net.reset_state()
        idx, off = nmnist.sample_steps(data, 'train', i)
        net.run_flat(idx, off, nmnist.N_STEPS)
        assert twin.sum() > 0
        np.testing.assert_array_equal(np.rint(twin), net.decision().counts)


def test_nmnist_holdout_splits_the_training_samples_only():
    rng = np.random.default_rng(0)
    sizes = rng.integers(0, 6, 30)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    data = {'train_channel': np.arange(offsets[-1], dtype=np.int32),
            'train_t_us': np.arange(offsets[-1], dtype=np.int64) * 7,
            'train_offsets': offsets, 'train_labels': np.arange(30) % 10,
            'test_channel': np.zeros(3, np.int32), 'test_t_us': np.zeros(3, np.int64),
            'test_offsets': np.array([0, 3]), 'test_labels': np.array([1])}
    split = nmnist.holdout(data, n_val=8, seed=3)
    assert split['train_labels'].size == 22 and split['test_labels'].size == 8
    seen = []
    for part in ('train', 'test'):
        off = split[f'{part}_offsets']
        for i in range(split[f'{part}_labels'].size):
            ch = split[f'{part}_channel'][off[i]:off[i + 1]]
            src = np.searchsorted(offsets, ch[0], side='right') - 1 if ch.size else None
            if src is not None:   # the sample's events, in order, and its label
                assert np.array_equal(ch, np.arange(offsets[src], offsets[src + 1]))
                assert np.array_equal(split[f'{part}_t_us'][off[i]:off[i + 1]], ch * 7)
                assert split[f'{part}_labels'][i] == data['train_labels'][src]
                seen.append(src)
    assert len(seen) == len(set(seen)) == int((sizes > 0).sum())   # disjoint, complete
    with pytest.raises(ValueError, match='n_val'):
        nmnist.holdout(data, n_val=30)


def test_holdout_study_scores_nmnist_on_the_validation_split(tmp_path, monkeypatch):
    if not nmnist.available():
        pytest.skip('nmnist-small data absent')
    monkeypatch.setattr(bptt, 'available', lambda: False)
    jobs = study_run.plan(('nmnist',), seeds=1, tiny=True, holdout=True)
    assert all(j.get('holdout') for j in jobs if j['kind'] in ('nmnist', 'bptt'))
    job = next(j for j in jobs if j['kind'] == 'nmnist' and j['setting'] == 'full')
    rec = study_run.run_job(job)
    assert rec['params']['n_test'] == 8   # twice the tiny test size, from the training split
    calls = []
    real = nmnist.holdout
    monkeypatch.setattr(nmnist, 'holdout', lambda d, n_val: calls.append(n_val) or real(d, n_val))
    doc = study_run.study(str(tmp_path), tasks=('nmnist',), tiny=True, seeds=1, n_jobs=0,
                          holdout=True, log=lambda s: None)
    assert calls == [8] * 4   # one per local setting
    assert doc['meta']['nmnist_split'].startswith('holdout')
    assert 'validation split' in (tmp_path / 'results.md').read_text()
