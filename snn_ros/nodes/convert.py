"""Conversions between numpy spike arrays and ROS messages, without per-element Python loops."""

from __future__ import annotations

import array
from typing import Any, NamedTuple

import numpy as np

from snn_ros.msg import SpikeEvents

NS_PER_S = 1_000_000_000


def u32_array(values: np.ndarray) -> array.array:
    """Return a ``uint32`` numpy array as the ``array.array('I')`` a message field takes."""
    out = array.array('I')
    out.frombytes(np.ascontiguousarray(values, dtype=np.uint32).tobytes())
    return out


def u32_view(field: Any) -> np.ndarray:
    """Return a message's ``uint32[]`` field as a numpy array (no copy for array.array)."""
    if isinstance(field, array.array) and field.itemsize == 4:
        return np.frombuffer(field, dtype=np.uint32) if len(field) else np.zeros(0, np.uint32)
    return np.asarray(field, dtype=np.int64)


def stamp_to_ns(stamp: Any) -> int:
    """Return a ``builtin_interfaces/Time`` as int nanoseconds."""
    return int(stamp.sec) * NS_PER_S + int(stamp.nanosec)


def ns_to_stamp(t_ns: int, stamp: Any) -> Any:
    """Write int nanoseconds into a ``builtin_interfaces/Time`` (in place) and return it."""
    t_ns = max(0, int(t_ns))
    stamp.sec, stamp.nanosec = t_ns // NS_PER_S, t_ns % NS_PER_S
    return stamp


def spike_events(indices: np.ndarray, step_offsets: np.ndarray, n_steps: int, t0_ns: int,
                 dt_ns: int, population_size: int, frame_id: str = '') -> SpikeEvents:
    """Build a ``SpikeEvents`` message from spike arrays."""
    msg = SpikeEvents()
    ns_to_stamp(t0_ns, msg.header.stamp)
    msg.header.frame_id = frame_id
    msg.population_size = int(population_size)
    msg.dt_ns = int(dt_ns)
    msg.n_steps = int(n_steps)
    msg.indices = u32_array(indices)
    msg.step_offsets = u32_array(step_offsets)
    return msg


def batch_to_msg(batch: Any, frame_id: str = '') -> SpikeEvents:
    """Build a ``SpikeEvents`` message from an adapter's ``SpikeBatch``."""
    return spike_events(batch.indices, batch.step_offsets, batch.n_steps, batch.t0_ns,
                        batch.dt_ns, batch.population_size, frame_id)


class SpikeData(NamedTuple):
    """The fields of one ``SpikeEvents`` as its subscriber reads them (a fresh uint32 array each).

    The one input form of the core and readout nodes, whether the spikes came over a topic
    (:func:`msg_to_data`) or straight from a node in the same process (:func:`spike_data`).
    """

    indices: np.ndarray
    step_offsets: np.ndarray
    n_steps: int
    population_size: int
    dt_ns: int
    t0_ns: int
    frame_id: str = ''


def msg_to_data(msg: SpikeEvents) -> SpikeData:
    """Return a received ``SpikeEvents`` as :class:`SpikeData` (arrays view the message)."""
    return SpikeData(u32_view(msg.indices), u32_view(msg.step_offsets), int(msg.n_steps),
                     int(msg.population_size), int(msg.dt_ns), stamp_to_ns(msg.header.stamp),
                     msg.header.frame_id)


def spike_data(indices: np.ndarray, step_offsets: np.ndarray, n_steps: int, t0_ns: int,
               dt_ns: int, population_size: int, frame_id: str = '') -> SpikeData:
    """Return what a subscriber reads from ``spike_events`` of the same arguments, no message.

    Same values and dtypes as ``msg_to_data(spike_events(...))``: uint32 copies (never views
    of the producer's buffers), the stamp clamped at 0 as a ROS stamp is.
    """
    return SpikeData(np.array(indices, dtype=np.uint32), np.array(step_offsets, dtype=np.uint32),
                     int(n_steps), int(population_size), int(dt_ns), max(0, int(t0_ns)),
                     frame_id)


def batch_to_data(batch: Any, frame_id: str = '') -> SpikeData:
    """Return an adapter's ``SpikeBatch`` as :class:`SpikeData` (as ``batch_to_msg`` would)."""
    return spike_data(batch.indices, batch.step_offsets, batch.n_steps, batch.t0_ns,
                      batch.dt_ns, batch.population_size, frame_id)
