"""Errors of the core ring; subclasses of ValueError where the caller passed bad input."""

from __future__ import annotations


class CoreError(Exception):
    """Base class of every error raised by ``snn_ros.core``."""


class ConfigError(CoreError, ValueError):
    """A configuration value is missing, unknown, of the wrong type or out of range."""


class InputError(CoreError, ValueError):
    """Input spikes are malformed (wrong dtype, shape or channel index out of range)."""


class CheckpointError(CoreError, ValueError):
    """A checkpoint file is truncated, corrupted, of another version or of another network."""
