"""Online-learned beat detection on MIT-BIH record 100 from the delta-encoded ECG.

Encoding: lead MLII (360 Hz) through a causal 5-25 Hz Butterworth band-pass and send-on-delta
encoders at several level spacings (one up/down channel pair each, the adapters'
:class:`~snn_ros.adapters.encoders.DeltaEncoder`), binned to 10 ms network steps.

Learning: the network streams the record without resets. Decision windows are 4 steps
(40 ms); at the end of each window in the training span (the first ``train_s`` seconds),
``teach(1)`` when an annotated beat's R peak lies within ``[-20, +60]`` ms of the window
(the QRS spikes and the network's latency), else ``teach(0)``. Then learning stops and the
rest of the record is the test span. A silent readout (no decision) counts as class 0 (no
beat). A run of class-1 windows (gaps of one window bridged)
signals one beat at the centre of its first window; signals closer than 200 ms (refractory
period) merge into the first one.

Scoring (ANSI/AAMI EC57 style): annotated beats (beat symbols only, ``+`` rhythm marks
dropped) and detections in the test span are matched one to one within 150 ms; sensitivity
``TP / (TP + FN)``, positive predictivity ``TP / (TP + FP)``. A classic Pan-Tompkins detector
(:func:`pan_tompkins`) is scored on the same span.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from scipy import signal as sps

from snn_ros.adapters.encoders import DeltaEncoder
from snn_ros.core import Network, NetworkConfig
from snn_ros.study import peak_rss_mb, shared_data_dir

BEAT_SYMBOLS = frozenset('NLRBAaJSVrFejnE/fQ?')
DT_S = 0.01
WINDOW_STEPS = 4
LEVELS_MV = (0.02, 0.04, 0.08, 0.16)
TOLERANCE_S = 0.15
REFRACTORY_S = 0.2
LABEL_SPAN_S = (-0.02, 0.06)


def available() -> bool:
    """Return whether MIT-BIH record 100 is present."""
    folder = shared_data_dir() / 'mitdb-100'
    return all((folder / f'100.{ext}').is_file() for ext in ('hea', 'dat', 'atr'))


def load(duration_s: float | None = None) -> dict[str, Any] | None:
    """Return lead MLII (mV), the sample rate and the beat annotations; None when absent.

    Args:
        duration_s: keep only the first seconds (None: the whole 30 min record).
    """
    if not available():
        return None
    import wfdb

    base = str(shared_data_dir() / 'mitdb-100' / '100')
    rec = wfdb.rdrecord(base, channel_names=['MLII'])
    ann = wfdb.rdann(base, 'atr')
    fs = float(rec.fs)
    x = rec.p_signal[:, 0].astype(np.float64)
    keep = np.array([s in BEAT_SYMBOLS for s in ann.symbol])
    beats = np.asarray(ann.sample)[keep].astype(np.int64)
    if duration_s is not None:
        n = int(round(duration_s * fs))
        x = x[:n]
        beats = beats[beats < n]
    return {'x': x, 'fs': fs, 'beats': beats}


def encode(x: np.ndarray, fs: float, dt_s: float = DT_S,
           levels: tuple[float, ...] = LEVELS_MV) -> tuple[np.ndarray, np.ndarray, int]:
    """Band-pass and delta-encode the ECG; return ``(indices, step_offsets, n_steps)``.

    Channel ``2 l`` (``2 l + 1``) is an up (down) crossing of level spacing ``levels[l]``.
    """
    b, a = sps.butter(2, [5.0, 25.0], btype='bandpass', fs=fs)
    y = sps.lfilter(b, a, x)
    enc = DeltaEncoder(len(levels), np.asarray(levels))
    sample, idx, _ = enc.encode(np.repeat(y[:, None], len(levels), axis=1))
    step = np.floor(sample / fs / dt_s).astype(np.int64)
    n_steps = int(np.ceil(x.size / fs / dt_s))
    order = np.lexsort((idx, step))
    return idx[order].astype(np.int64), step[order], n_steps


def config(n_inputs: int, n_hidden: int = 128) -> NetworkConfig:
    """Return the beat detector: one recurrent layer, two readout classes (none, beat)."""
    return NetworkConfig.from_dict({
        'dt_s': DT_S, 'n_inputs': n_inputs,
        'neuron': {'target_rate_hz': 5.0, 'tau_mem_s': 0.02},
        'layers': {'n_layers': 1, 'n_hidden': n_hidden, 'block_size': min(32, n_hidden),
                   'p_input': 0.5, 'w_input': 0.6, 'w_rec_std': 0.02},
        'readout': {'n_classes': 2, 'pop_size': 4, 'p_readout': 0.5, 'w_readout': 0.01,
                    'window_steps': WINDOW_STEPS},
        'teaching': {'margin': 1.0},
        'plasticity': {'tau_elig_s': 0.02, 'lr_readout': 2e-3, 'lr_hidden': 1e-4}})


def window_labels(beats_s: np.ndarray, n_windows: int, window_s: float) -> np.ndarray:
    """Return 1 for windows ``[k w, (k + 1) w)`` within LABEL_SPAN_S of an R peak, else 0."""
    lab = np.zeros(n_windows, np.int64)
    lo, hi = LABEL_SPAN_S
    for b in beats_s:
        k0 = int(np.floor((b + lo) / window_s))
        k1 = int(np.floor((b + hi) / window_s))
        lab[max(k0, 0):min(k1, n_windows - 1) + 1] = 1
    return lab


def run_onsets(decisions: np.ndarray, max_gap: int = 1) -> np.ndarray:
    """Return the first window of every run of class-1 windows (gaps up to ``max_gap``)."""
    pos = np.nonzero(np.asarray(decisions) == 1)[0]
    if pos.size == 0:
        return pos.astype(np.float64)
    starts = np.concatenate([[True], np.diff(pos) > max_gap + 1])
    return pos[starts].astype(np.float64)


def merge_detections(times_s: np.ndarray, refractory_s: float = REFRACTORY_S) -> np.ndarray:
    """Drop detections within ``refractory_s`` of the previous kept one."""
    out: list[float] = []
    for t in np.sort(times_s):
        if not out or t - out[-1] >= refractory_s:
            out.append(float(t))
    return np.asarray(out)


def score(ref_s: np.ndarray, det_s: np.ndarray,
          tolerance_s: float = TOLERANCE_S) -> dict[str, float]:
    """Match reference beats and detections one to one within the tolerance.

    Returns:
        ``tp``, ``fn``, ``fp``, ``sensitivity`` and ``positive_predictivity``.
    """
    ref = np.sort(np.asarray(ref_s, np.float64))
    det = np.sort(np.asarray(det_s, np.float64))
    used = np.zeros(det.size, bool)
    tp = 0
    j0 = 0
    for r in ref:
        while j0 < det.size and det[j0] < r - tolerance_s:
            j0 += 1
        best, best_d = -1, tolerance_s + 1e-12
        j = j0
        while j < det.size and det[j] <= r + tolerance_s:
            d = abs(det[j] - r)
            if not used[j] and d <= best_d:
                best, best_d = j, d
            j += 1
        if best >= 0:
            used[best] = True
            tp += 1
    fn = ref.size - tp
    fp = det.size - tp
    return {'tp': tp, 'fn': fn, 'fp': fp,
            'sensitivity': tp / (tp + fn) if tp + fn else float('nan'),
            'positive_predictivity': tp / (tp + fp) if tp + fp else float('nan')}


def run(data: dict[str, Any], seed: int, *, train_s: float = 300.0,
        n_hidden: int = 128) -> dict[str, Any]:
    """Learn online on the training span, then detect beats on the rest; return a run record."""
    fs = data['fs']
    idx, off, n_steps = encode(data['x'], fs)
    n_inputs = 2 * len(LEVELS_MV)
    cfg = config(n_inputs, n_hidden)
    net = Network(cfg, seed)
    window_s = WINDOW_STEPS * DT_S
    n_windows = n_steps // WINDOW_STEPS
    beats_s = data['beats'] / fs
    labels = window_labels(beats_s, n_windows, window_s)
    train_w = min(int(round(train_s / window_s)), n_windows)
    bounds = np.searchsorted(off, np.arange(n_windows * WINDOW_STEPS + 1))
    decisions = np.zeros(n_windows, np.int64)
    updates = 0
    events = 0
    ro_in = np.zeros(2, np.int64)
    hidden_plastic = 0
    deg = []
    for p in net.projections:
        deg.append((p.pre, np.diff(p.indptr)))
        if p.kind == 'readout':
            np.add.at(ro_in, net.class_of[p.indices], 1)
        elif p.proj.plastic:
            hidden_plastic += int(p.indices.size)
    curve_x: list[float] = []
    curve_y: list[float] = []
    hit_block = 0
    block_n = 0
    block = 250
    t0 = time.perf_counter()
    train_time = 0.0
    for w in range(n_windows):
        if w == train_w:
            train_time = time.perf_counter() - t0
            net.learning = False
        for s in range(w * WINDOW_STEPS, (w + 1) * WINDOW_STEPS):
            x = idx[bounds[s]:bounds[s + 1]]
            net.step(x)
            for pre, d in deg:
                sp = x if pre < 0 else net.groups[pre].spikes
                if sp.size:
                    events += int(d[np.unique(sp) if pre < 0 else sp].sum())
        decisions[w] = max(net.decision().label, 0)  # a silent readout means no beat
        if w < train_w:
            err = net.teach(int(labels[w]))
            if np.any(err != 0.0):
                updates += int(ro_in[err != 0.0].sum()) + hidden_plastic
            hit_block += decisions[w] == labels[w]
            block_n += 1
            if block_n == block:
                curve_x.append((w + 1) * window_s)
                curve_y.append(hit_block / block_n)
                hit_block = block_n = 0
        net.reset_window()
    if train_w >= n_windows:
        train_time = time.perf_counter() - t0
    run_time = time.perf_counter() - t0
    det_s = merge_detections(run_onsets(decisions) * window_s + 0.5 * window_s)
    t_lo = train_w * window_s
    t_hi = n_windows * window_s
    ref = beats_s[(beats_s >= t_lo) & (beats_s < t_hi)]
    det = det_s[(det_s >= t_lo) & (det_s < t_hi)]
    sc = score(ref, det)
    state = int(sum(a.nbytes for a in net.state_arrays().values()))
    return {'task': 'ecg', 'setting': 'snn_online', 'seed': seed,
            'metrics': {'sensitivity': sc['sensitivity'],
                        'positive_predictivity': sc['positive_predictivity']},
            'counts': {k: sc[k] for k in ('tp', 'fn', 'fp')},
            'train_time_s': train_time, 'run_time_s': run_time,
            'synaptic_updates': updates, 'synaptic_events': events, 'state_bytes': state,
            'peak_rss_mb': peak_rss_mb(), '_detections_s': det,
            'curve': {'x': curve_x, 'y': curve_y, 'x_label': 'record time (s)',
                      'y_label': f'online window accuracy (blocks of {block} windows)'},
            'params': {'train_s': train_w * window_s, 'test_s': t_hi - t_lo,
                       'n_hidden': n_hidden, 'dt_s': DT_S, 'window_steps': WINDOW_STEPS,
                       'levels_mv': list(LEVELS_MV), 'n_test_beats': int(ref.size)}}


def pan_tompkins(x: np.ndarray, fs: float) -> np.ndarray:
    """Return R-peak times (s) by the Pan-Tompkins algorithm (Pan and Tompkins, 1985).

    Causal 5-15 Hz band-pass, five-point derivative, squaring, 150 ms moving-window
    integration; peaks of the integrated signal at least 200 ms apart are classified with the
    adaptive thresholds ``SPKI``/``NPKI`` (``THR1 = NPKI + 0.25 (SPKI - NPKI)``), with
    search-back at ``THR1 / 2`` when no beat came for 166 % of the mean RR interval and the
    T-wave test (a candidate within 360 ms of the last beat whose maximal slope is under half
    of that beat's is noise). The R peak is the band-passed maximum in the 250 ms before the
    integrated peak (group delay compensated).
    """
    b, a = sps.butter(1, [5.0, 15.0], btype='bandpass', fs=fs)
    f = sps.lfilter(b, a, x)
    d = np.zeros_like(f)
    d[4:] = (2 * f[4:] + f[3:-1] - f[1:-3] - 2 * f[:-4]) * (fs / 8.0)
    sq = d * d
    win = max(1, int(round(0.15 * fs)))
    mwi = np.convolve(sq, np.ones(win) / win)[:x.size]
    peaks, _ = sps.find_peaks(mwi, distance=int(round(0.2 * fs)))
    learn = int(2 * fs)
    init = mwi[:learn]
    spki = 0.25 * float(init.max()) if init.size else 0.0
    npki = 0.5 * float(init.mean()) if init.size else 0.0
    thr1 = npki + 0.25 * (spki - npki)
    beats: list[int] = []
    slopes: list[float] = []
    rr: list[int] = []
    pending: list[int] = []
    lookback = int(round(0.25 * fs))

    def r_peak(p: int) -> int:
        lo = max(0, p - lookback)
        return lo + int(np.argmax(np.abs(f[lo:p + 1])))

    def slope(p: int) -> float:
        lo = max(0, p - int(round(0.075 * fs)))
        return float(np.max(np.abs(d[lo:p + 1])))

    def accept(p: int, level: float, searchback: bool) -> None:
        nonlocal spki
        if beats:
            rr.append(p - beats[-1])
        beats.append(p)
        slopes.append(slope(p))
        spki = (0.25 if searchback else 0.125) * level + (
            0.75 if searchback else 0.875) * spki

    for p in peaks:
        level = float(mwi[p])
        mean_rr = float(np.mean(rr[-8:])) if rr else None
        if beats and mean_rr and p - beats[-1] > 1.66 * mean_rr and pending:
            cand = [q for q in pending if mwi[q] > 0.5 * thr1 and q - beats[-1] > 0.2 * fs]
            if cand:
                best = max(cand, key=lambda q: mwi[q])
                accept(best, float(mwi[best]), True)
            pending = []
        if level > thr1:
            is_t = False
            if beats and p - beats[-1] < 0.36 * fs and slope(p) < 0.5 * slopes[-1]:
                is_t = True
            if is_t:
                npki = 0.125 * level + 0.875 * npki
                pending.append(p)
            else:
                accept(p, level, False)
                pending = []
        else:
            npki = 0.125 * level + 0.875 * npki
            pending.append(p)
        thr1 = npki + 0.25 * (spki - npki)
    return np.asarray([r_peak(p) for p in beats], np.float64) / fs


def run_pan_tompkins(data: dict[str, Any], *, train_s: float = 300.0) -> dict[str, Any]:
    """Score Pan-Tompkins on the same test span as :func:`run`; return a run record."""
    fs = data['fs']
    t0 = time.perf_counter()
    det_s = pan_tompkins(data['x'], fs)
    run_time = time.perf_counter() - t0
    window_s = WINDOW_STEPS * DT_S
    n_windows = int(np.ceil(data['x'].size / fs / DT_S)) // WINDOW_STEPS
    train_w = min(int(round(train_s / window_s)), n_windows)
    t_lo, t_hi = train_w * window_s, n_windows * window_s
    beats_s = data['beats'] / fs
    ref = beats_s[(beats_s >= t_lo) & (beats_s < t_hi)]
    sc = score(ref, det_s[(det_s >= t_lo) & (det_s < t_hi)])
    return {'task': 'ecg', 'setting': 'pan_tompkins', 'seed': 0,
            'metrics': {'sensitivity': sc['sensitivity'],
                        'positive_predictivity': sc['positive_predictivity']},
            'counts': {k: sc[k] for k in ('tp', 'fn', 'fp')},
            'train_time_s': 0.0, 'run_time_s': run_time, 'synaptic_updates': 0,
            'synaptic_events': None, 'state_bytes': None, 'peak_rss_mb': peak_rss_mb(),
            'params': {'test_s': t_hi - t_lo, 'n_test_beats': int(ref.size),
                       'note': 'deterministic (no seed); 2 s threshold initialisation'}}
