"""Shared fixtures: real recordings from ../shared/data (skipped when absent), ROS isolation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from snn_ros.study import shared_data_dir

# Keep every DDS participant of the suite on this machine and in its own domain.
os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
os.environ.setdefault('ROS_DOMAIN_ID', str(40 + os.getpid() % 50))
os.environ.setdefault('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp')

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = shared_data_dir()


def shared_data(name: str) -> Path:
    """Return ``../shared/data/<name>`` or skip the calling test when it is absent."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f'shared recording {name!r} not present at {path}')
    return path


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: long runs (10,000-case property tests, learning)')
    config.addinivalue_line('markers', 'ros: needs rclpy and the built interfaces')
