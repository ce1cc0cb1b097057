"""Healthy / myopathy / neuropathy from needle-EMG windows, learned online.

Data: the three PhysioNet EMGDB records (one subject per class, 4 kHz, tibialis anterior).
Split, stated plainly: each record is cut into non-overlapping 250 ms windows; the windows
lying entirely in the first 70 % of a record are the training set, those entirely in the last
30 % the test set. Training and test windows therefore come from the *same subject and the
same recording* (earlier vs later time), one subject per class: this measures whether the
network tells these three recordings apart on unseen stretches, not whether it generalises
to new patients (it is not subject-independent).

Encoding: 20-1000 Hz band-pass and send-on-delta encoders at several level spacings (up/down
channel pairs), 1 ms network steps. Each window is one sample: the state is reset, the window
streams through, ``teach(label)`` every 50 ms during training, and the decision is the
readout count argmax. Training windows are shuffled (per seed) and presented for ``epochs``
passes.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from scipy import signal as sps

from snn_ros.adapters.encoders import DeltaEncoder
from snn_ros.core import Network, NetworkConfig
from snn_ros.study import peak_rss_mb, shared_data_dir

CLASSES = ('healthy', 'myopathy', 'neuropathy')
DT_S = 0.001
WINDOW_S = 0.25
TRAIN_FRACTION = 0.7
TEACH_EVERY = 50
LEVELS_MV = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)


def available() -> bool:
    """Return whether the three EMGDB records are present."""
    folder = shared_data_dir() / 'emgdb'
    return all((folder / f'emg_{c}.{e}').is_file() for c in CLASSES for e in ('hea', 'dat'))


def load(max_s: float | None = None) -> dict[str, Any] | None:
    """Return ``{'fs', 'signals': [mV array per class]}`` or None when absent.

    Args:
        max_s: keep only the first seconds of each record (tests).
    """
    if not available():
        return None
    import wfdb

    sig = []
    fs = None
    for c in CLASSES:
        rec = wfdb.rdrecord(str(shared_data_dir() / 'emgdb' / f'emg_{c}'))
        fs = float(rec.fs)
        x = rec.p_signal[:, 0].astype(np.float64)
        if max_s is not None:
            x = x[:int(round(max_s * fs))]
        sig.append(x)
    return {'fs': fs, 'signals': sig}


def windows(data: dict[str, Any]) -> dict[str, list[tuple[np.ndarray, np.ndarray, int]]]:
    """Encode every record and cut it into windows; return ``{'train': [...], 'test': [...]}``.

    Each window is ``(indices, step_offsets, label)`` with offsets in ``[0, window steps)``.
    """
    fs = data['fs']
    b, a = sps.butter(2, [20.0, 1000.0], btype='bandpass', fs=fs)
    w_steps = int(round(WINDOW_S / DT_S))
    out: dict[str, list[tuple[np.ndarray, np.ndarray, int]]] = {'train': [], 'test': []}
    for label, x in enumerate(data['signals']):
        y = sps.lfilter(b, a, x)
        enc = DeltaEncoder(len(LEVELS_MV), np.asarray(LEVELS_MV))
        sample, idx, _ = enc.encode(np.repeat(y[:, None], len(LEVELS_MV), axis=1))
        step = np.floor(sample / fs / DT_S).astype(np.int64)
        n_steps = int(np.floor(x.size / fs / DT_S))
        n_win = n_steps // w_steps
        split = TRAIN_FRACTION * n_steps
        for k in range(n_win):
            lo, hi = k * w_steps, (k + 1) * w_steps
            if hi <= split:
                part = 'train'
            elif lo >= split:
                part = 'test'
            else:
                continue
            sel = (step >= lo) & (step < hi)
            s, i = step[sel] - lo, idx[sel]
            order = np.lexsort((i, s))
            out[part].append((i[order].astype(np.int64), s[order], label))
    return out


def config(n_hidden: int = 128) -> NetworkConfig:
    """Return the EMG classifier: one recurrent layer, three readout classes."""
    return NetworkConfig.from_dict({
        'dt_s': DT_S, 'n_inputs': 2 * len(LEVELS_MV),
        'neuron': {'target_rate_hz': 20.0, 'tau_mem_s': 0.02},
        'layers': {'n_layers': 1, 'n_hidden': n_hidden, 'block_size': min(32, n_hidden),
                   'p_input': 0.5, 'w_input': 0.3, 'w_rec_std': 0.02},
        'readout': {'n_classes': len(CLASSES), 'pop_size': 4, 'p_readout': 0.5,
                    'w_readout': 0.01},
        'plasticity': {'tau_elig_s': 0.02, 'lr_readout': 2e-5, 'lr_hidden': 2e-6}})


def _present(net: Network, win: tuple[np.ndarray, np.ndarray, int], teach: bool) -> int:
    idx, off, label = win
    n = int(round(WINDOW_S / DT_S))
    bounds = np.searchsorted(off, np.arange(n + 1))
    net.reset_state()
    for s in range(n):
        net.step(idx[bounds[s]:bounds[s + 1]])
        if teach and (s + 1) % TEACH_EVERY == 0:
            net.teach(label)
    decision = net.decision().label
    if teach:
        net.error(np.zeros(net.n_classes))
    return decision


def run(data: dict[str, Any], seed: int, *, epochs: int = 3, n_hidden: int = 128,
        wins: dict[str, list] | None = None) -> dict[str, Any]:
    """Train online on the training windows, test with learning off; return a run record."""
    wins = wins if wins is not None else windows(data)
    net = Network(config(n_hidden), seed)
    rng = np.random.default_rng(seed)
    n_plastic = sum(int(p.indices.size) for p in net.projections if p.proj.plastic)
    n_teach = int(round(WINDOW_S / DT_S)) // TEACH_EVERY
    curve_x: list[int] = []
    curve_y: list[float] = []
    updates = 0
    train_time = 0.0
    for epoch in range(epochs):
        t0 = time.perf_counter()
        hits = 0
        for k in rng.permutation(len(wins['train'])):
            w = wins['train'][k]
            hits += _present(net, w, True) == w[2]
            updates += n_plastic * n_teach
        train_time += time.perf_counter() - t0
        curve_x.append(epoch + 1)
        curve_y.append(hits / max(len(wins['train']), 1))
    net.learning = False
    y_true = np.array([w[2] for w in wins['test']], np.int64)
    y_pred = np.array([_present(net, w, False) for w in wins['test']], np.int64)
    acc = float(np.mean(y_true == y_pred)) if y_true.size else float('nan')
    recalls = [float(np.mean(y_pred[y_true == c] == c)) for c in range(len(CLASSES))
               if np.any(y_true == c)]
    confusion = np.zeros((len(CLASSES), len(CLASSES)), np.int64)
    np.add.at(confusion, (y_true, y_pred), 1)
    state = int(sum(a.nbytes for a in net.state_arrays().values()))
    return {'task': 'emg', 'setting': 'snn_online', 'seed': seed,
            'metrics': {'accuracy': acc, 'balanced_accuracy': float(np.mean(recalls))},
            'confusion': confusion.tolist(),
            'train_time_s': train_time, 'synaptic_updates': updates, 'synaptic_events': None,
            'state_bytes': state, 'peak_rss_mb': peak_rss_mb(),
            'curve': {'x': curve_x, 'y': curve_y, 'x_label': 'epoch',
                      'y_label': 'online train accuracy'},
            'params': {'epochs': epochs, 'n_hidden': n_hidden, 'window_s': WINDOW_S,
                       'n_train_windows': len(wins['train']),
                       'n_test_windows': len(wins['test']),
                       'split': f'first {TRAIN_FRACTION:.0%} of each record train, last '
                                f'{1 - TRAIN_FRACTION:.0%} test (same subject; not '
                                'subject-independent)'}}
