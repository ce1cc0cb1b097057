"""Errors raised by the sensor adapters (all subclasses of ValueError: bad input)."""

from __future__ import annotations


class AdapterError(ValueError):
    """A message could not be turned into spikes; ``reason`` is a short counter key."""

    reason = 'invalid'


class UnknownEncodingError(AdapterError):
    """The message names an encoding this adapter cannot decode."""

    reason = 'unknown_encoding'


class TruncatedBufferError(AdapterError):
    """The payload length does not fit the encoding (cut in the middle of a word)."""

    reason = 'truncated'


class OutOfRangeError(AdapterError):
    """A coordinate or index lies outside the declared geometry."""

    reason = 'out_of_range'


class GeometryError(AdapterError):
    """Width/height (or channel count) is zero, above the configured maximum, or changed."""

    reason = 'geometry'


class TimeBackwardsError(AdapterError):
    """Time went backwards by more than the configured tolerance."""

    reason = 'time_backwards'


class NonFiniteError(AdapterError):
    """A sample is NaN or infinite."""

    reason = 'non_finite'


class ShapeError(AdapterError):
    """An array has the wrong length or layout."""

    reason = 'shape'
