"""Common shape of every adapter: message fields in, spike indices per step out."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from snn_ros.adapters.errors import AdapterError


@dataclass
class SpikeBatch:
    """Input spikes over ``n_steps`` consecutive steps of ``dt_ns`` starting at ``t0_ns``.

    ``indices[i]`` spiked at step ``step_offsets[i]``; offsets are non-decreasing and lie in
    ``[0, n_steps)``; indices lie in ``[0, population_size)``.
    """

    indices: np.ndarray
    step_offsets: np.ndarray
    n_steps: int
    t0_ns: int
    dt_ns: int
    population_size: int

    @classmethod
    def empty(cls, t0_ns: int, dt_ns: int, population_size: int, n_steps: int = 0) -> SpikeBatch:
        """Return a batch with no spikes."""
        return cls(np.zeros(0, np.uint32), np.zeros(0, np.uint32), n_steps, t0_ns, dt_ns,
                   population_size)

    def steps(self) -> list[np.ndarray]:
        """Split into one index array per step (length ``n_steps``)."""
        bounds = np.searchsorted(self.step_offsets, np.arange(self.n_steps + 1))
        return [self.indices[bounds[k]:bounds[k + 1]] for k in range(self.n_steps)]


@dataclass
class AdapterCounters:
    """Received, decoded and rejected message counts, with rejections by reason."""

    received: int = 0
    decoded: int = 0
    rejected: int = 0
    spikes: int = 0
    by_reason: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict[str, int]:
        """Return a flat dict for diagnostics."""
        out = {'received': self.received, 'decoded': self.decoded, 'rejected': self.rejected,
               'spikes': self.spikes}
        out.update({f'rejected_{k}': v for k, v in sorted(self.by_reason.items())})
        return out


class Adapter:
    """Base class: subclasses implement ``n_channels`` and ``_encode(msg) -> SpikeBatch``.

    ``process`` counts every message, and on bad input counts the reason and re-raises the
    specific :class:`AdapterError`; the adapter's state is left as it was before that message,
    so the next valid message decodes normally.
    """

    n_channels: int

    def __init__(self) -> None:
        self.counters = AdapterCounters()

    def process(self, msg: Any) -> SpikeBatch:
        """Encode one message into spikes, counting it; raise AdapterError on bad input."""
        self.counters.received += 1
        try:
            batch = self._encode(msg)
        except AdapterError as err:
            self.counters.rejected += 1
            self.counters.by_reason[err.reason] += 1
            raise
        self.counters.decoded += 1
        self.counters.spikes += int(batch.indices.size)
        return batch

    def _encode(self, msg: Any) -> SpikeBatch:
        raise NotImplementedError

    def reset(self) -> None:
        """Forget stream state (timestamps, previous samples); keep the counters."""


class TimedAdapter(Adapter):
    """Base of adapters whose messages carry no header: the caller may pass the stream time.

    ``_encode`` reads the ``t_ns`` given to :meth:`process` from ``self._t_arg`` (None when not
    given; the adapter then continues its own clock).
    """

    def __init__(self) -> None:
        super().__init__()
        self._t_arg: int | None = None

    def process(self, msg: Any, t_ns: int | None = None) -> SpikeBatch:
        """Encode one message; ``t_ns`` (optional) is the time of its first sample.

        Raises:
            AdapterError: the specific subclass for a malformed message (counted).
        """
        self._t_arg = t_ns
        try:
            return super().process(msg)
        finally:
            self._t_arg = None


def stamp_ns(header: Any) -> int:
    """Return a std_msgs/Header stamp (rclpy or rosbags message) as int nanoseconds."""
    stamp = header.stamp
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)
