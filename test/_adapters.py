"""Test-local helpers shared by the sensor adapter tests: batch invariants and a feeder."""

from __future__ import annotations

from hypothesis import event
import numpy as np

from snn_ros.adapters.errors import AdapterError


def check_batch(b, n_channels):
    """Assert the invariants of a SpikeBatch of ``n_channels`` channels."""
    assert b.population_size == n_channels
    assert b.indices.dtype == np.uint32 and b.step_offsets.dtype == np.uint32
    assert b.indices.size == b.step_offsets.size
    assert np.all(b.indices < n_channels)
    assert np.all(np.diff(b.step_offsets.astype(np.int64)) >= 0)
    assert b.n_steps >= 1 and np.all(b.step_offsets < b.n_steps)
    assert b.t0_ns % b.dt_ns == 0
    # at most one spike per channel per step
    key = b.step_offsets.astype(np.int64) * n_channels + b.indices
    assert np.unique(key).size == key.size


def feed(adapter, msgs, **kwargs_list):
    """Process ``msgs`` (``kwargs_list[key][k]`` passed with message ``k``); check every batch.

    A message is either a valid batch or an AdapterError; the counters account for all.
    """
    for k, msg in enumerate(msgs):
        kwargs = {key: v[k] for key, v in kwargs_list.items()}
        try:
            batch = adapter.process(msg, **kwargs)
        except AdapterError:
            continue
        check_batch(batch, adapter.n_channels)
    c = adapter.counters
    assert c.received == len(msgs) == c.decoded + c.rejected
    event(f'decoded {min(c.decoded, 2)}+ of {len(msgs)}')
    for reason in c.by_reason:
        event(f'rejected: {reason}')
