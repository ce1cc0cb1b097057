"""Rate-limited error logging with counters, so a flood of bad messages never floods the log."""

from __future__ import annotations

from collections import Counter
import time
from typing import Any, Callable


class RateLimitedErrors:
    """Count errors by reason and log each reason at most once per ``period_s``.

    The log line says how many errors of that reason were suppressed since the last one, so
    nothing is hidden, only summarised. Time comes from ``clock`` (monotonic seconds), wall time
    by default, so simulated time standing still never silences the log for good.
    """

    def __init__(self, logger: Any, period_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._logger = logger
        self._period_s = float(period_s)
        self._clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: Counter = Counter()
        self.counts: Counter = Counter()

    @property
    def total(self) -> int:
        """Return the number of errors counted over all reasons."""
        return sum(self.counts.values())

    def error(self, reason: str, message: str) -> bool:
        """Count one error of ``reason``; log ``message`` unless logged recently.

        Args:
            reason: short counter key (``out_of_range``, ``bad_label``).
            message: human-readable detail for the log.

        Returns:
            True when the message was logged, False when it was only counted.
        """
        self.counts[reason] += 1
        now = self._clock()
        last = self._last.get(reason)
        if last is not None and now - last < self._period_s:
            self._suppressed[reason] += 1
            return False
        extra = self._suppressed.pop(reason, 0)
        suffix = f' ({extra} more suppressed in the last {self._period_s:g} s)' if extra else ''
        self._logger.error(f'[{reason}] {message}{suffix}')
        self._last[reason] = now
        return True

    def as_dict(self, prefix: str = 'rejected_') -> dict[str, int]:
        """Return ``{prefix + reason: count}`` for diagnostics."""
        return {f'{prefix}{k}': v for k, v in sorted(self.counts.items())}
