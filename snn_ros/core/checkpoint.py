"""Atomic, checksummed ``.npz`` checkpoints loaded without pickle.

A checkpoint holds named arrays plus ``__meta__`` (a JSON string: format version, config, RNG
state, scalars) and ``__checksum__`` (SHA-256 over every array's name, dtype, shape and bytes
and the metadata). Writing goes to a temporary file in the same directory, is flushed and
fsynced, then renamed over the target, so a crash mid-save leaves the previous file intact.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any
import zipfile

import numpy as np

from snn_ros.core.errors import CheckpointError

FORMAT_VERSION = 2  # 2: closed-form plasticity state (xr, xd, rb, seg_q, pre_t)
_META = '__meta__'
_SUM = '__checksum__'


def _checksum(arrays: dict[str, np.ndarray], meta_json: str) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(name.encode())
        h.update(a.dtype.str.encode())
        h.update(repr(a.shape).encode())
        h.update(a.tobytes())
    h.update(meta_json.encode())
    return h.hexdigest()


def save_atomic(path: str | Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Path:
    """Write ``arrays`` and ``meta`` to ``path`` atomically; return the path.

    Raises:
        CheckpointError: an array name collides with the reserved ones or is not a string.
        OSError: the file system refused the write (the previous file is untouched).
    """
    path = Path(path)
    for name in arrays:
        if name in (_META, _SUM) or not isinstance(name, str):
            raise CheckpointError(f'invalid array name {name!r}')
    meta = dict(meta, format_version=FORMAT_VERSION)
    meta_json = json.dumps(meta, sort_keys=True)
    payload = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    payload[_META] = np.array(meta_json)
    payload[_SUM] = np.array(_checksum(arrays, meta_json))
    tmp = path.with_name(f'.{path.name}.tmp-{os.getpid()}')
    try:
        with open(tmp, 'wb') as fh:
            _write_npz(fh, payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        raise
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return path


def _write_npz(fh: Any, payload: dict[str, np.ndarray]) -> None:
    """Write the npz body (a separate function so tests can simulate a crash mid-write)."""
    np.savez(fh, **payload)


def load_checked(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a checkpoint and verify it; return (arrays, meta).

    Raises:
        CheckpointError: missing, truncated or corrupted file, checksum mismatch, or a format
            version this code does not read. The message names the problem.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f'{path}: no such checkpoint file')
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError,
            zipfile.LargeZipFile) as err:
        raise CheckpointError(f'{path}: truncated or corrupted checkpoint ({err})') from err
    except Exception as err:  # zlib/CRC errors surface under several types
        raise CheckpointError(f'{path}: unreadable checkpoint ({type(err).__name__}: '
                              f'{err})') from err
    if _META not in arrays or _SUM not in arrays:
        raise CheckpointError(f'{path}: not an snn_ros checkpoint (no metadata or checksum)')
    meta_json = str(arrays.pop(_META))
    stored = str(arrays.pop(_SUM))
    try:
        meta = json.loads(meta_json)
    except ValueError as err:
        raise CheckpointError(f'{path}: corrupted metadata ({err})') from err
    if _checksum(arrays, meta_json) != stored:
        raise CheckpointError(f'{path}: checksum mismatch (corrupted checkpoint)')
    version = meta.get('format_version')
    if version != FORMAT_VERSION:
        raise CheckpointError(f'{path}: format version {version!r}, this code reads '
                              f'{FORMAT_VERSION}')
    return arrays, meta
