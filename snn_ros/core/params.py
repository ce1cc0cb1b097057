"""Flat, dotted view of the config for parameter servers (ROS-free).

``describe`` turns the dataclass field metadata into :class:`ParamSpec` records that the node
layer maps to ``ParameterDescriptor``; ``apply`` validates a set of dotted updates as a whole and
returns a new config, never a half-applied one. ``nest``, ``flatten_mapping``, ``field_names``
and ``build`` convert between dotted names and nested YAML mappings for any config dataclass
(nested groups are fields with ``metadata={'group': True}`` or dataclass defaults); the node
parameter layer and the ROS-free replay both use them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from snn_ros.core.config import NetworkConfig
from snn_ros.core.errors import ConfigError


def param_field(default: Any, description: str, lo: float | None = None,
                hi: float | None = None, *, read_only: bool = False, **extra: Any) -> Any:
    """Return a dataclass field whose metadata :func:`describe` turns into a parameter.

    ``lo``/``hi`` bound numbers, ``read_only`` refuses live changes, ``extra`` adds keys such
    as ``choices``. For the node and simulator config dataclasses outside the core.
    """
    meta = {'description': description, 'min': lo, 'max': hi, 'read_only': read_only}
    meta.update(extra)
    return dataclasses.field(default=default, metadata=meta)


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


def default_of(f: dataclasses.Field) -> Any:
    """Return the default of a config dataclass field.

    Raises:
        TypeError: the field has no default.
    """
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    raise TypeError(f'{f.name}: config fields need a default')


def field_names(config_cls: type, prefix: str = '') -> set[str]:
    """Return the dotted names of every scalar or array field of a config dataclass."""
    names = set()
    for f in dataclasses.fields(config_cls):
        default = default_of(f)
        if f.metadata.get('group') or dataclasses.is_dataclass(default):
            names |= field_names(type(default), f'{prefix}{f.name}.')
        else:
            names.add(f'{prefix}{f.name}')
    return names


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """Return ``{'a': {'b': v}}`` for ``{'a.b': v}`` (the YAML layout of dotted parameters)."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        parts = key.split('.')
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def flatten_mapping(nested: dict[str, Any], prefix: str = '') -> dict[str, Any]:
    """Return ``{'a.b': v}`` for a nested mapping ``{'a': {'b': v}}``; lists become tuples."""
    out: dict[str, Any] = {}
    for key, value in nested.items():
        if isinstance(value, dict):
            out.update(flatten_mapping(value, f'{prefix}{key}.'))
        else:
            out[f'{prefix}{key}'] = tuple(value) if isinstance(value, list) else value
    return out


def _construct(config_cls: type, nested: dict[str, Any]) -> Any:
    kwargs = {}
    for f in dataclasses.fields(config_cls):
        if f.name not in nested:
            continue
        value = nested[f.name]
        default = default_of(f)
        if isinstance(value, dict) and dataclasses.is_dataclass(default):
            value = _construct(type(default), value)
        elif isinstance(default, tuple) and isinstance(value, (list, tuple)):
            value = tuple(value)
        kwargs[f.name] = value
    return config_cls(**kwargs)


def build(config_cls: type, flat: dict[str, Any]) -> Any:
    """Build a validated config from dotted values (``from_dict`` when the class has one).

    Raises:
        ValueError: an invalid value (the config's own error, naming the field).
        TypeError: a name the config does not have.
    """
    if hasattr(config_cls, 'from_dict'):
        return config_cls.from_dict(nest(flat))
    return _construct(config_cls, nest(flat))
