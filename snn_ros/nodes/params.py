"""Config dataclasses -> declared ROS parameters, and validated, atomic live updates.

One source of truth: the frozen config dataclasses of the core, the adapters and the nodes carry
``description``, ``min``/``max`` or ``choices`` and ``read_only`` in their field metadata (nested
groups are fields with ``metadata={'group': True}``). :class:`ParameterBinding` declares one ROS
parameter per dotted field with a ``ParameterDescriptor`` (description, range, read-only), reads
the values the node was started with (``--params-file``) into a validated config, and keeps that
config current at run time: a set-parameters request is validated as a whole by rebuilding the
config (the dataclasses' own ``__post_init__`` checks); an invalid one is refused with the
reason and nothing changes; a valid one is handed to ``on_change`` in one piece.
"""

from __future__ import annotations

import array
import dataclasses
from dataclasses import dataclass
import math
import re
import sys
from typing import Any, Callable

from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor,
                                ParameterType, SetParametersResult)
from rclpy.node import Node
from rclpy.parameter import Parameter

from snn_ros.core.params import build, default_of

_INT_LIMIT = (1 << 63) - 1
_TYPES = {bool: ParameterType.PARAMETER_BOOL, int: ParameterType.PARAMETER_INTEGER,
          float: ParameterType.PARAMETER_DOUBLE, str: ParameterType.PARAMETER_STRING}
_ARRAY_TYPES = {bool: ParameterType.PARAMETER_BOOL_ARRAY,
                int: ParameterType.PARAMETER_INTEGER_ARRAY,
                float: ParameterType.PARAMETER_DOUBLE_ARRAY,
                str: ParameterType.PARAMETER_STRING_ARRAY}


@dataclass(frozen=True)
class Spec:
    """One dotted parameter: its Python type, default and descriptor fields."""

    name: str
    kind: type
    is_array: bool
    default: Any
    description: str
    min: float | None
    max: float | None
    choices: tuple[str, ...] | None
    read_only: bool

    @property
    def ros_type(self) -> int:
        """Return the ``ParameterType`` code."""
        return (_ARRAY_TYPES if self.is_array else _TYPES)[self.kind]


def _walk(cls_or_obj: Any, prefix: str = ''):
    for f in dataclasses.fields(cls_or_obj):
        if f.metadata.get('group') or dataclasses.is_dataclass(default_of(f)):
            sub = (getattr(cls_or_obj, f.name) if not isinstance(cls_or_obj, type)
                   else default_of(f))
            yield from _walk(sub, f'{prefix}{f.name}.')
        else:
            yield f'{prefix}{f.name}', f


def _item_type(config_cls: type, name: str, f: dataclasses.Field) -> type:
    text = f.type if isinstance(f.type, str) else getattr(f.type, '__name__', str(f.type))
    match = re.search(r'\[\s*(bool|int|float|str)\b', str(f.type) if not isinstance(
        f.type, str) else text)
    if not match:
        raise TypeError(f'{name}: cannot tell the item type of empty array field {text}')
    return {'bool': bool, 'int': int, 'float': float, 'str': str}[match.group(1)]


def describe(config_cls: type) -> list[Spec]:
    """Return one :class:`Spec` per dotted scalar or array field of a config dataclass."""
    specs = []
    for name, f in _walk(config_cls):
        default = default_of(f)
        meta = f.metadata
        is_array = isinstance(default, (tuple, list))
        if is_array:
            kind = meta.get('item_type') or (type(default[0]) if default else
                                             _item_type(config_cls, name, f))
            default = tuple(default)
        else:
            kind = type(default)
        if kind not in _TYPES:
            raise TypeError(f'{name}: unsupported parameter type {kind.__name__}')
        specs.append(Spec(name, kind, is_array, default, meta.get('description', ''),
                          meta.get('min'), meta.get('max'), meta.get('choices'),
                          bool(meta.get('read_only', False))))
    return specs


def flatten(config: Any) -> dict[str, Any]:
    """Return ``{dotted_name: value}`` for every field of a config instance."""
    out = {}
    for name, _ in _walk(config):
        obj = config
        for part in name.split('.'):
            obj = getattr(obj, part)
        out[name] = obj
    return out


def apply(config: Any, updates: dict[str, Any]) -> Any:
    """Return a new config with dotted ``updates`` applied, validated as a whole.

    Raises:
        ValueError: unknown name or invalid value; ``config`` is unchanged.
    """
    flat = flatten(config)
    unknown = sorted(set(updates) - set(flat))
    if unknown:
        raise ValueError(f'{unknown[0]}: unknown parameter')
    flat.update(updates)
    return build(type(config), flat)


def _descriptor(spec: Spec) -> ParameterDescriptor:
    text = spec.description
    choices = ', '.join(str(c) for c in spec.choices or ())
    if choices:
        text += f' (one of: {choices})'
    if spec.read_only:
        text += ' [read-only: structural, set at start-up]'
    desc = ParameterDescriptor(name=spec.name, type=spec.ros_type, description=text,
                               read_only=spec.read_only)
    if choices:
        desc.additional_constraints = f'one of: {choices}'
    if not spec.is_array and spec.kind in (int, float) and not isinstance(spec.min, bool) and (
            spec.min is not None or spec.max is not None):
        if spec.kind is int:
            lo = -_INT_LIMIT if spec.min is None or spec.min == -math.inf else int(spec.min)
            hi = _INT_LIMIT if spec.max is None or spec.max == math.inf else int(spec.max)
            desc.integer_range = [IntegerRange(from_value=lo, to_value=hi, step=0)]
        else:
            lo = -sys.float_info.max if spec.min is None else max(float(spec.min),
                                                                  -sys.float_info.max)
            hi = sys.float_info.max if spec.max is None else min(float(spec.max),
                                                                 sys.float_info.max)
            desc.floating_point_range = [FloatingPointRange(from_value=lo, to_value=hi,
                                                            step=0.0)]
    return desc


def to_python(value: Any) -> Any:
    """Return a ROS parameter value as plain Python (arrays become tuples)."""
    if isinstance(value, (list, tuple, array.array)) or type(value).__module__ == 'numpy':
        try:
            return tuple(v.item() if hasattr(v, 'item') else v for v in value)
        except TypeError:
            return value.item()
    return value


def _to_ros(spec: Spec, value: Any) -> Any:
    if spec.is_array:
        return [spec.kind(v) for v in value]
    return value


class ParameterBinding:
    """Declare a config dataclass as ROS parameters and keep a validated config current.

    Args:
        node: the node that owns the parameters.
        config_cls: frozen config dataclass (fields with description/range/read_only metadata).
        prefix: dotted prefix of the parameter names (``''`` or ``'adapter.'``).
        on_change: ``on_change(new_config, changed_names)`` after a valid live update.
        defaults: dotted values that replace the dataclass defaults (the node's own defaults).

    Raises:
        ValueError: the start-up values (``--params-file``) do not form a valid config.
    """

    def __init__(self, node: Node, config_cls: type, *, prefix: str = '',
                 on_change: Callable[[Any, list[str]], None] | None = None,
                 defaults: dict[str, Any] | None = None) -> None:
        self._node = node
        self._cls = config_cls
        self._prefix = prefix
        self._on_change = on_change
        self.specs = {prefix + s.name: s for s in describe(config_cls)}
        defaults = defaults or {}
        overrides = getattr(node, '_parameter_overrides', {}) or {}
        values = {}
        for name, spec in self.specs.items():
            default = defaults.get(spec.name, spec.default)
            override = overrides.get(name)
            if (override is not None and spec.kind is float and not spec.is_array
                    and override.type_ == Parameter.Type.INTEGER):
                overrides[name] = Parameter(name, Parameter.Type.DOUBLE, float(override.value))
            initial = _to_ros(spec, default)
            if spec.is_array and not initial:  # an empty list cannot carry its type
                initial = Parameter.Type(spec.ros_type)
            param = node.declare_parameter(name, initial, _descriptor(spec))
            values[spec.name] = default if param.value is None else to_python(param.value)
        self.config = build(config_cls, values)
        node.add_on_set_parameters_callback(self._validate)
        if hasattr(node, 'add_post_set_parameters_callback'):
            node.add_post_set_parameters_callback(self._commit)
            self._commit_in_validate = False
        else:  # pragma: no cover - distributions without post-set callbacks
            self._commit_in_validate = True

    def _updates(self, params: list[Parameter]) -> dict[str, Any]:
        return {p.name[len(self._prefix):]: to_python(p.value) for p in params
                if p.name in self.specs}

    def _validate(self, params: list[Parameter]) -> SetParametersResult:
        updates = self._updates(params)
        if not updates:
            return SetParametersResult(successful=True)
        for name, value in updates.items():
            spec = self.specs[self._prefix + name]
            if spec.read_only and value != flatten(self.config)[name]:
                return SetParametersResult(
                    successful=False, reason=f'{self._prefix}{name}: read-only (structural) '
                    'parameter; change it in the params file and restart')
        try:
            new = apply(self.config, updates)
        except (ValueError, TypeError) as err:
            return SetParametersResult(successful=False, reason=f'{self._prefix}{err}')
        if self._commit_in_validate:  # pragma: no cover
            self._set(new, list(updates))
        return SetParametersResult(successful=True)

    def _commit(self, params: list[Parameter]) -> None:
        updates = self._updates(params)
        if updates:
            self._set(apply(self.config, updates), list(updates))

    def _set(self, new: Any, names: list[str]) -> None:
        self.config = new
        if self._on_change is not None:
            self._on_change(new, names)

    def set_local(self, updates: dict[str, Any]) -> SetParametersResult:
        """Set dotted values through the ROS parameter server (validated, atomic)."""
        params = [Parameter(self._prefix + k, value=_to_ros(self.specs[self._prefix + k], v))
                  for k, v in updates.items()]
        return self._node.set_parameters_atomically(params)
