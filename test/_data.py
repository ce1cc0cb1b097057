"""Test-local helpers for the core tests: the package's N-MNIST subset, or a skip when absent."""

from __future__ import annotations

import numpy as np
import pytest

from snn_ros.study import nmnist
from snn_ros.study.nmnist import sample_steps

__all__ = ['nmnist_small', 'sample_steps']


def nmnist_small() -> dict[str, np.ndarray]:
    """Return the N-MNIST subset as flat arrays (skip the test when the folder is absent)."""
    data = nmnist.load()
    if data is None:
        pytest.skip(f'shared recording nmnist-small not present at {nmnist.data_folder()}')
    return data
