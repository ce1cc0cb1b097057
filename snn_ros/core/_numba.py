"""The one place numba flags are set, so every kernel compiles the same way.

fastmath and parallel stay off by default: the same seed and input must give bit-identical
spikes and weights. ``cache=True`` keeps compiled kernels between processes.
"""

from __future__ import annotations

import os

from numba import njit as _njit

FASTMATH = False
PARALLEL = False
CACHE = os.environ.get('SNN_ROS_NUMBA_CACHE', '1') != '0'


def njit(*args, **kwargs):
    """Return numba's ``njit`` with the project's flags (``nogil``, ``cache``, no fastmath)."""
    opts = {'nogil': True, 'cache': CACHE, 'fastmath': FASTMATH}
    opts.update(kwargs)
    if args and callable(args[0]) and len(args) == 1 and not kwargs:
        return _njit(**opts)(args[0])
    return _njit(*args, **opts)
