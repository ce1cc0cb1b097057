"""Test-local helpers for the core tests: the N-MNIST subset, cached outside the repository."""

from __future__ import annotations

import os
from pathlib import Path
import tarfile

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get('SNN_ROS_SHARED_DATA', REPO.parent / 'shared' / 'data'))
CACHE = Path(os.environ.get('SNN_ROS_CACHE', Path.home() / '.cache' / 'snn_ros'))
SIDE = 34


def _read_tar(tar_path: Path) -> dict[str, np.ndarray]:
    """Read every member in one sequential pass (xz has no index)."""
    events: dict[int, np.ndarray] = {}
    lists: dict[str, list[tuple[int, int]]] = {}
    with tarfile.open(tar_path) as tf:
        for m in tf:
            if not m.isfile():
                continue
            data = tf.extractfile(m).read()
            name = m.name.rsplit('/', 1)[-1]
            if name.endswith('.bs2'):
                events[int(name[:-4])] = np.frombuffer(data, np.uint8).reshape(-1, 5)
            elif name.endswith('.txt'):
                rows = data.decode().split('\n')[1:]
                lists[name] = [tuple(map(int, r.split()[:2])) for r in rows if r.strip()]
    out = {}
    for split, fname in (('train', 'train1K.txt'), ('test', 'test100.txt')):
        ids = [i for i, _ in lists[fname]]
        labels = np.array([c for _, c in lists[fname]], np.int64)
        raw = [events[i].astype(np.uint32) for i in ids]
        x = np.concatenate([b[:, 0] for b in raw])
        y = np.concatenate([b[:, 1] for b in raw])
        p = np.concatenate([b[:, 2] >> 7 for b in raw])
        t = np.concatenate([((b[:, 2] & 0x7F) << 16) | (b[:, 3] << 8) | b[:, 4] for b in raw])
        offsets = np.zeros(len(raw) + 1, np.int64)
        np.cumsum([len(b) for b in raw], out=offsets[1:])
        out[f'{split}_channel'] = (p * SIDE * SIDE + y * SIDE + x).astype(np.int32)
        out[f'{split}_t_us'] = t.astype(np.int64)
        out[f'{split}_offsets'] = offsets
        out[f'{split}_labels'] = labels
    return out


def nmnist_small() -> dict[str, np.ndarray]:
    """Return the N-MNIST subset as flat arrays (skip the test when the folder is absent)."""
    folder = SHARED_DATA / 'nmnist-small'
    tar_path = folder / 'NMNISTsmall.tar.xz'
    if not tar_path.is_file():
        pytest.skip(f'shared recording nmnist-small not present at {folder}')
    cache = CACHE / 'nmnist_small_v1.npz'
    if cache.is_file():
        try:
            with np.load(cache, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except Exception:
            pass
    data = _read_tar(tar_path)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(cache.name + f'.tmp-{os.getpid()}.npz')
    np.savez(tmp, **data)
    os.replace(tmp, cache)
    return data


def sample_steps(data: dict[str, np.ndarray], split: str, i: int, dt_us: int,
                 n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (indices, step_offsets) of sample ``i`` binned at ``dt_us`` (first n_steps)."""
    lo, hi = data[f'{split}_offsets'][i], data[f'{split}_offsets'][i + 1]
    ch = data[f'{split}_channel'][lo:hi]
    step = data[f'{split}_t_us'][lo:hi] // dt_us
    keep = step < n_steps
    ch, step = ch[keep], step[keep]
    order = np.argsort(step, kind='stable')
    return ch[order].astype(np.int64), step[order].astype(np.int64)
