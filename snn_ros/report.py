"""Run folders a person can look at: ``summary.json``, saved arrays and PNG figures.

A run (demo or replay) fills a :class:`RunRecorder` while it goes: decisions with their true
labels, periodic network statistics (rates, thresholds, weight norms, modulatory activity),
weights before and after learning, and a spike raster (every hidden layer and the readout,
with the input below). :meth:`RunRecorder.finish` writes ``summary.json`` and ``arrays.npz``
into the run folder and draws the figures from the saved arrays; ``snn-ros report RUN_DIR``
redraws them later with :func:`make_figures` (matplotlib, Agg backend, no display needed).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
import time
from typing import Any

import numpy as np

FIGURES = ('raster.png', 'rates.png', 'learning_curve.png', 'confusion.png', 'weights.png',
           'modulation.png')


def config_hash(config: Any) -> str:
    """Return a short sha256 of a JSON-serializable config (sorted keys)."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def new_run_dir(root: str | Path = 'runs', prefix: str = 'run') -> Path:
    """Create and return ``root/<prefix>-YYYYmmdd-HHMMSS[-n]``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime('%Y%m%d-%H%M%S')
    for k in range(1000):
        path = root / (f'{prefix}-{stamp}' + (f'-{k}' if k else ''))
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f'cannot create a run folder under {root}')


def _weights(net: Any, max_n: int = 200_000) -> dict[str, np.ndarray]:
    """Return up to ``max_n`` weights per projection of a core Network (evenly subsampled)."""
    out = {}
    try:
        net._flush()
    except Exception:  # noqa: BLE001 - a network without pending updates
        pass
    for p in getattr(net, 'projections', []):
        w = np.asarray(p.proj.weights(), np.float32)
        if w.size > max_n:
            w = w[np.linspace(0, w.size - 1, max_n).astype(np.int64)]
        out[p.name] = w
    return out


def record_raster(net: Any, steps: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Run ``steps`` (input indices per step) on ``net`` and return the spikes of every group.

    Returns:
        ``{'input': (2, n) [step; index], 'layer1': ..., 'readout': ...}`` int32 arrays.
    """
    groups: dict[str, list[tuple[int, np.ndarray]]] = {'input': []}
    names = [f'layer{k + 1}' for k in range(len(net.groups) - 1)] + ['readout']
    for n in names:
        groups[n] = []
    for k, idx in enumerate(steps):
        idx = np.asarray(idx, np.int64)
        net.step(idx)
        groups['input'].append((k, idx))
        for n, g in zip(names, net.groups):
            groups[n].append((k, np.asarray(g.spikes, np.int64).copy()))
    out = {}
    for n, rows in groups.items():
        if rows:
            st = np.concatenate([np.full(len(i), k, np.int64) for k, i in rows])
            ix = np.concatenate([i for _, i in rows])
        else:
            st = ix = np.zeros(0, np.int64)
        out[n] = np.stack([st, ix]).astype(np.int32)
    return out


class RunRecorder:
    """Collect what a run did and write the run folder.

    Args:
        run_dir: the folder (created when missing).
        n_classes: number of classes of the readout.
        class_names: optional names per class.
    """

    def __init__(self, run_dir: str | Path, n_classes: int,
                 class_names: list[str] | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.n_classes = int(n_classes)
        self.class_names = class_names or [str(k) for k in range(self.n_classes)]
        self.decisions: list[tuple[float, int, int, int]] = []  # t_s, pred, label, is_test
        self.stats_t: list[float] = []
        self.rates: list[list[float]] = []
        self.thresholds: list[list[float]] = []
        self.modulation: list[list[float]] = []
        self.modulation_labels = ['mean |modulation| at hidden neurons',
                                  'modulatory population activity (norm)',
                                  'teaching error (norm)']
        self.weight_norms: list[list[float]] = []
        self.weight_names: list[str] = []
        self.weights_before: dict[str, np.ndarray] = {}
        self.weights_after: dict[str, np.ndarray] = {}
        self.raster: dict[str, np.ndarray] = {}
        self.dt_s = 0.001
        self.t0 = time.perf_counter()
        self.timings: dict[str, float] = {}

    def add_decision(self, t_s: float, predicted: int, label: int, test: bool) -> None:
        """Record one decision and its true label (``label`` -1 when unknown)."""
        self.decisions.append((float(t_s), int(predicted), int(label), int(bool(test))))

    def add_stats(self, t_s: float, rates_hz: list[float], thresholds: list[float],
                  modulation: list[float], weight_norms: dict[str, float] | None = None
                  ) -> None:
        """Record one sample of rates (per hidden layer, readout last) and thresholds."""
        self.stats_t.append(float(t_s))
        self.rates.append([float(v) for v in rates_hz])
        self.thresholds.append([float(v) for v in thresholds])
        self.modulation.append([float(v) for v in modulation])
        if weight_norms:
            if not self.weight_names:
                self.weight_names = list(weight_norms)
            self.weight_norms.append([float(weight_norms.get(n, np.nan))
                                      for n in self.weight_names])

    def add_network_stats(self, t_s: float, stats: dict[str, Any]) -> None:
        """Record a :meth:`snn_ros.core.network.Network.stats` dict."""
        mod = stats.get('modulation', {})
        self.add_stats(t_s, list(stats.get('rate_hz', [])) + [stats.get('readout_rate_hz', 0.0)],
                       list(stats.get('threshold_mean', [])),
                       [mod.get('hidden_abs_mean', 0.0), mod.get('population_norm', 0.0),
                        mod.get('error_norm', 0.0)],
                       stats.get('weight_norm'))

    def set_weights(self, net: Any, when: str) -> None:
        """Store the network's weights ``'before'`` or ``'after'`` learning."""
        (self.weights_before if when == 'before' else self.weights_after).update(_weights(net))

    # --------------------------------------------------------------------- results
    def confusion(self, test_only: bool = True) -> np.ndarray:
        """Return the confusion matrix [true, predicted] of the labelled decisions."""
        cm = np.zeros((self.n_classes, self.n_classes), np.int64)
        for _, pred, label, test in self.decisions:
            if label >= 0 and (test or not test_only) and 0 <= pred < self.n_classes:
                cm[label, pred] += 1
        return cm

    def accuracy(self, test_only: bool = True) -> tuple[float, int]:
        """Return (accuracy, number of labelled decisions counted)."""
        cm = self.confusion(test_only)
        n = int(cm.sum())
        return (float(np.trace(cm)) / n if n else 0.0), n

    def finish(self, extra: dict[str, Any] | None = None, figures: bool = True
               ) -> dict[str, Any]:
        """Write ``arrays.npz``, ``summary.json`` and the figures; return the summary."""
        test_n = sum(1 for d in self.decisions if d[3])
        acc, n = self.accuracy(test_only=test_n > 0)
        self.timings.setdefault('total_s', time.perf_counter() - self.t0)
        arrays: dict[str, np.ndarray] = {
            'decisions': np.asarray(self.decisions, np.float64).reshape(-1, 4),
            'stats_t': np.asarray(self.stats_t, np.float64),
            'rates': _ragged(self.rates), 'thresholds': _ragged(self.thresholds),
            'modulation': _ragged(self.modulation), 'weight_norms': _ragged(self.weight_norms),
            'n_classes': np.asarray(self.n_classes), 'dt_s': np.asarray(self.dt_s),
        }
        for k, v in self.weights_before.items():
            arrays[f'w_before/{k}'] = v
        for k, v in self.weights_after.items():
            arrays[f'w_after/{k}'] = v
        for k, v in self.raster.items():
            arrays[f'raster/{k}'] = np.asarray(v, np.int32)
        np.savez_compressed(self.run_dir / 'arrays.npz', **arrays)
        rates = np.asarray(arrays['rates'])
        summary: dict[str, Any] = {
            'accuracy': acc, 'n_test': n,
            'n_decisions': len(self.decisions),
            'confusion_matrix': self.confusion(test_only=test_n > 0).tolist(),
            'class_names': self.class_names,
            'modulation_labels': self.modulation_labels,
            'rates_hz': {'mean_per_group': (np.nanmean(rates, axis=0).tolist()
                                            if rates.size else [])},
            'timings': {k: round(float(v), 3) for k, v in self.timings.items()},
            'run_dir': str(self.run_dir),
        }
        if extra:
            summary.update(extra)
        (self.run_dir / 'summary.json').write_text(json.dumps(summary, indent=2, default=_jsonable)
                                                   + '\n')
        if figures:
            summary['figures'] = [str(p) for p in make_figures(self.run_dir)]
        return summary


def _ragged(rows: list[list[float]]) -> np.ndarray:
    if not rows:
        return np.zeros((0, 0))
    width = max(len(r) for r in rows)
    out = np.full((len(rows), width), np.nan)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return out


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return str(obj)


# ------------------------------------------------------------------------- figures


def _load(run_dir: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    npz = run_dir / 'arrays.npz'
    if not npz.is_file():
        raise FileNotFoundError(f'{run_dir} has no arrays.npz (not a run folder?)')
    with np.load(npz) as f:
        arrays = {k: f[k] for k in f.files}
    summ = run_dir / 'summary.json'
    summary = json.loads(summ.read_text()) if summ.is_file() else {}
    return arrays, summary


def make_figures(run_dir: str | Path) -> list[Path]:
    """Draw every figure of a run folder from its ``arrays.npz``; return the PNG paths.

    Raises:
        FileNotFoundError: the folder has no ``arrays.npz``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    a, summary = _load(run_dir)
    out: list[Path] = []
    n_classes = int(a.get('n_classes', 10))
    names = summary.get('class_names') or [str(k) for k in range(n_classes)]

    def save(fig: Any, name: str) -> None:
        path = run_dir / name
        fig.savefig(path, dpi=100)
        plt.close(fig)
        out.append(path)

    # spike raster per layer, input below
    raster = {k.split('/', 1)[1]: v for k, v in a.items() if k.startswith('raster/')}
    order = [k for k in raster if k not in ('input',)]
    order = sorted(order, key=lambda k: (k == 'readout', k), reverse=True) + (
        ['input'] if 'input' in raster else [])
    fig, axes = plt.subplots(max(len(order), 1), 1, figsize=(9, 1.8 * max(len(order), 1) + 1),
                             sharex=True, squeeze=False)
    for ax, name in zip(axes[:, 0], order):
        st, ix = raster[name]
        ax.scatter(st, ix, s=1.5, marker='|', color='k' if name != 'input' else 'tab:blue',
                   linewidths=0.6)
        ax.set_ylabel(name)
        ax.set_title(f'{name}: {st.size} spikes', fontsize=8, loc='right')
    if not order:
        axes[0, 0].text(0.5, 0.5, 'no raster recorded', ha='center', va='center')
    axes[-1, 0].set_xlabel(f'step ({float(a.get("dt_s", 0.001)) * 1e3:g} ms)')
    fig.suptitle('Spike raster of one sample (hidden layers, readout; input at the bottom)')
    fig.tight_layout()
    save(fig, 'raster.png')

    # firing rate and threshold over time
    t = a.get('stats_t', np.zeros(0))
    rates, thr = a.get('rates', np.zeros((0, 0))), a.get('thresholds', np.zeros((0, 0)))
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    for k in range(rates.shape[1] if rates.ndim == 2 else 0):
        label = 'readout' if k == rates.shape[1] - 1 else f'layer {k + 1}'
        ax1.plot(t, rates[:, k], label=label)
    ax1.set_ylabel('firing rate (Hz)')
    _legend(ax1)
    n_rates = rates.shape[1] if rates.ndim == 2 else 0
    for k in range(thr.shape[1] if thr.ndim == 2 else 0):
        # the live status message has thresholds of the hidden layers only
        label = 'readout' if (k == thr.shape[1] - 1 and thr.shape[1] == n_rates) \
            else f'layer {k + 1}'
        ax2.plot(t, thr[:, k], label=label)
    ax2.set_ylabel('mean adaptive threshold')
    ax2.set_xlabel('time (s)')
    _legend(ax2)
    fig.suptitle('Firing rate and threshold over time')
    fig.tight_layout()
    save(fig, 'rates.png')

    # learning curve: running accuracy over labelled decisions
    dec = a.get('decisions', np.zeros((0, 4)))
    fig, ax = plt.subplots(figsize=(8, 4))
    lab = dec[dec[:, 2] >= 0] if dec.size else dec
    if lab.size:
        correct = (lab[:, 1] == lab[:, 2]).astype(float)
        idx = np.arange(1, correct.size + 1)
        ax.plot(idx, np.cumsum(correct) / idx, label='running accuracy (all)')
        w = max(1, min(50, correct.size // 5))
        if correct.size >= w:
            ax.plot(idx[w - 1:], np.convolve(correct, np.ones(w) / w, 'valid'),
                    label=f'moving average ({w})', alpha=0.7)
        test = lab[:, 3] > 0
        if test.any():
            ax.axvline(int(np.argmax(test)) + 1, color='gray', ls='--', label='test starts')
    ax.axhline(1.0 / max(n_classes, 1), color='r', ls=':', label='chance')
    ax.set_ylim(0, 1)
    ax.set_xlabel('labelled decision')
    ax.set_ylabel('accuracy')
    ax.legend(fontsize=8)
    ax.set_title(f'Learning curve (test accuracy {summary.get("accuracy", float("nan")):.3f})')
    fig.tight_layout()
    save(fig, 'learning_curve.png')

    # confusion matrix
    cm = np.asarray(summary.get('confusion_matrix') or np.zeros((n_classes, n_classes)))
    fig, ax = plt.subplots(figsize=(5.5, 5))
    im = ax.imshow(cm, cmap='Blues')
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            if cm[i, j]:
                ax.text(j, i, int(cm[i, j]), ha='center', va='center', fontsize=7,
                        color='white' if cm[i, j] > cm.max() / 2 else 'black')
    ax.set_xticks(range(cm.shape[1]), names[:cm.shape[1]])
    ax.set_yticks(range(cm.shape[0]), names[:cm.shape[0]])
    ax.set_xlabel('predicted')
    ax.set_ylabel('true')
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_title('Confusion matrix')
    fig.tight_layout()
    save(fig, 'confusion.png')

    # weight histograms before / after
    projs = sorted({k.split('/', 1)[1] for k in a if k.startswith(('w_before/', 'w_after/'))})
    n = max(len(projs), 1)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    for ax, name in zip(axes.ravel(), projs):
        for when, color in (('before', 'tab:gray'), ('after', 'tab:orange')):
            w = a.get(f'w_{when}/{name}')
            if w is not None and w.size:
                ax.hist(w, bins=60, alpha=0.6, color=color, label=when)
        ax.set_title(name, fontsize=9)
        _legend(ax, 7)
    for ax in axes.ravel()[len(projs):]:
        ax.axis('off')
    if not projs:
        axes[0, 0].text(0.5, 0.5, 'no weights recorded', ha='center', va='center')
    fig.suptitle('Weight histograms before and after learning')
    fig.tight_layout()
    save(fig, 'weights.png')

    # modulatory activity
    mod = a.get('modulation', np.zeros((0, 0)))
    fig, ax = plt.subplots(figsize=(9, 3.5))
    labels = summary.get('modulation_labels') or (
        'mean |modulation| at hidden neurons', 'modulatory population activity (norm)',
        'teaching error (norm)')
    for k in range(mod.shape[1] if mod.ndim == 2 else 0):
        ax.plot(t[:mod.shape[0]], mod[:, k], label=labels[k] if k < len(labels) else str(k))
    ax.set_xlabel('time (s)')
    ax.set_ylabel('activity')
    _legend(ax)
    ax.set_title('Modulatory activity')
    fig.tight_layout()
    save(fig, 'modulation.png')
    return out


def _legend(ax: Any, size: int = 8) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=size)
    else:
        ax.text(0.5, 0.5, 'no data recorded', ha='center', va='center',
                transform=ax.transAxes, color='gray')


def main(run_dir: str | Path) -> list[Path]:
    """Regenerate the figures of ``run_dir`` and return their paths."""
    return make_figures(run_dir)
