"""Flat, dotted view of the config for parameter servers (ROS-free).

``describe`` turns the dataclass field metadata into :class:`ParamSpec` records that the node
layer maps to ``ParameterDescriptor``; ``apply`` validates a set of dotted updates as a whole and
returns a new config, never a half-applied one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from snn_ros.core.config import NetworkConfig
from snn_ros.core.errors import ConfigError


@dataclass(frozen=True)
class ParamSpec:
    """Description of one dotted parameter."""

    name: str
    type: str
    default: Any
    description: str
    min: float | None
    max: float | None
    choices: tuple[str, ...] | None
    read_only: bool


def _walk(obj_or_cls: Any, prefix: str = ''):
    for f in dataclasses.fields(obj_or_cls):
        name = f'{prefix}{f.name}'
        if f.metadata.get('group'):
            sub = (getattr(obj_or_cls, f.name) if not isinstance(obj_or_cls, type)
                   else f.default_factory())
            yield from _walk(sub, name + '.')
        else:
            yield name, f, obj_or_cls


def flatten(config: Any) -> dict[str, Any]:
    """Return ``{dotted_name: value}`` for every scalar field of a config instance."""
    return {name: getattr(owner, f.name) for name, f, owner in _walk(config)}


def describe(config_cls: type = NetworkConfig) -> list[ParamSpec]:
    """Return one :class:`ParamSpec` per dotted parameter of a config class, in field order."""
    specs = []
    for name, f, _ in _walk(config_cls):
        meta = f.metadata
        specs.append(ParamSpec(name=name, type=type(f.default).__name__, default=f.default,
                               description=meta.get('description', ''),
                               min=meta.get('min'), max=meta.get('max'),
                               choices=meta.get('choices'),
                               read_only=bool(meta.get('read_only', False))))
    return specs


def apply(config: NetworkConfig, updates: dict[str, Any], *,
          allow_read_only: bool = True) -> NetworkConfig:
    """Return a new config with dotted ``updates`` applied; validate all of them together.

    Args:
        config: current config (unchanged).
        updates: ``{'plasticity.lr_hidden': 1e-4, ...}``.
        allow_read_only: when False, changing a read-only parameter raises ConfigError.

    Returns:
        The new, validated config.

    Raises:
        ConfigError: unknown name, read-only change refused, or invalid value.
    """
    flat = flatten(config)
    specs = {s.name: s for s in describe(type(config))}
    for key, value in updates.items():
        if key not in flat:
            raise ConfigError(f'{key}: unknown parameter; valid: {sorted(flat)}')
        if not allow_read_only and specs[key].read_only and value != flat[key]:
            raise ConfigError(f'{key}: read-only (structural) parameter cannot change')
    flat.update(updates)
    return type(config).from_dict(flat)
