"""Learning study: local learning with modulatory feedback on real data, next to baselines.

ROS-free (numpy, numba, scipy, wfdb; torch only for the optional BPTT baseline). Each task
module returns plain dicts (one per run: task, setting, seed, metrics, cost) that
:mod:`snn_ros.study.report` turns into ``docs/results.md``, ``docs/results.json`` and learning
curves. ``bench/learning.py`` runs everything with fixed seeds.
"""

from __future__ import annotations

import os
from pathlib import Path


def shared_data_dir() -> Path:
    """Return the shared data folder (``$SNN_ROS_SHARED_DATA`` or ``<repo>/../shared/data``)."""
    default = Path(__file__).resolve().parents[2].parent / 'shared' / 'data'
    return Path(os.environ.get('SNN_ROS_SHARED_DATA', default))


def cache_dir() -> Path:
    """Return the cache folder outside the repository.

    ``$SNN_ROS_CACHE``, else ``$XDG_CACHE_HOME/snn_ros``, else ``~/.cache/snn_ros``.
    """
    if 'SNN_ROS_CACHE' in os.environ:
        return Path(os.environ['SNN_ROS_CACHE'])
    return Path(os.environ.get('XDG_CACHE_HOME', Path.home() / '.cache')) / 'snn_ros'


def peak_rss_mb() -> float:
    """Return this process's peak resident set size in MiB (Linux ``ru_maxrss``)."""
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
