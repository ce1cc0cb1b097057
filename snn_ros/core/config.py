"""Frozen, validated configuration of the spiking network core.

Every field carries ``metadata`` with a ``description``, a valid range (``min``/``max``) or
``choices`` for option strings, and ``read_only`` (structural values that cannot change once a
network is built). Option strings become :class:`enum.IntEnum` codes (``*_code`` properties)
before they reach numba.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, replace
import enum
import math
from pathlib import Path
from typing import Any

from snn_ros.core.errors import ConfigError

INF = math.inf


class ResetMode(enum.IntEnum):
    """Membrane reset after a spike."""

    ZERO = 0
    SUBTRACT = 1


class ModulationMode(enum.IntEnum):
    """How the error reaches hidden neurons."""

    POPULATIONS = 0
    DIRECT = 1


class FeedbackMode(enum.IntEnum):
    """Feedback matrix from the error to hidden neurons."""

    RANDOM = 0
    SYMMETRIC = 1


def enum_code(enum_cls: type[enum.IntEnum], name: str, field_name: str) -> enum.IntEnum:
    """Return the IntEnum member called ``name`` (case-insensitive) or raise ConfigError."""
    valid = [m.name.lower() for m in enum_cls]
    if not isinstance(name, str) or name.lower() not in valid:
        raise ConfigError(f'{field_name}: {name!r} is not one of {valid}')
    return enum_cls[name.upper()]


def _f(default: Any, description: str, lo: float | None = None, hi: float | None = None, *,
       read_only: bool = False, choices: tuple[str, ...] | None = None) -> Any:
    meta: dict[str, Any] = {'description': description, 'read_only': read_only}
    if choices is not None:
        meta['choices'] = choices
    else:
        meta['min'] = lo
        meta['max'] = hi
    return field(default=default, metadata=meta)


def _validate(obj: Any, prefix: str) -> None:
    """Coerce and check every scalar field of a config dataclass against its metadata."""
    for f in dataclasses.fields(obj):
        name = f'{prefix}{f.name}'
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(f.type) or f.metadata.get('group'):
            continue
        kind = type(f.default)
        if kind is bool:
            if not isinstance(value, bool):
                raise ConfigError(f'{name}: expected true or false, got {value!r}')
        elif kind is int:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                    isinstance(value, float) and not value.is_integer()):
                raise ConfigError(f'{name}: expected an integer, got {value!r}')
            value = int(value)
        elif kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f'{name}: expected a number, got {value!r}')
            value = float(value)
            if not math.isfinite(value):
                raise ConfigError(f'{name}: must be finite, got {value!r}')
        elif kind is str:
            choices = f.metadata['choices']
            if not isinstance(value, str) or value.lower() not in choices:
                raise ConfigError(f'{name}: {value!r} is not one of {list(choices)}')
            value = value.lower()
        lo, hi = f.metadata.get('min'), f.metadata.get('max')
        if lo is not None and value < lo or hi is not None and value > hi:
            raise ConfigError(f'{name}: {value!r} out of range [{lo}, {hi}]')
        object.__setattr__(obj, f.name, value)


def _group(cls: type) -> Any:
    return field(default_factory=cls, metadata={'group': True})


@dataclass(frozen=True)
class NeuronConfig:
    """Leaky integrate-and-fire neuron and its homeostatic threshold (hidden and readout)."""

    tau_mem_s: float = _f(0.02, 'membrane time constant', 1e-5, 10.0, read_only=True)
    threshold: float = _f(1.0, 'initial firing threshold', 1e-6, 1e6, read_only=True)
    reset: str = _f('zero', 'reset after a spike: to zero or by subtracting the threshold',
                    choices=('zero', 'subtract'), read_only=True)
    refractory_steps: int = _f(0, 'steps after a spike without integration or spiking', 0, 1000,
                               read_only=True)
    homeostasis: bool = _f(True, 'adapt thresholds toward the target rate')
    homeo_tau_s: float = _f(10.0, 'homeostatic time constant: a rate off by the target moves '
                            'the threshold by about one threshold unit in this time', 1e-3, 1e6)
    target_rate_hz: float = _f(10.0, 'homeostatic target firing rate', 1e-3, 1000.0)
    theta_min: float = _f(0.25, 'lower bound of the adaptive threshold', 1e-6, 1e6)
    theta_max: float = _f(4.0, 'upper bound of the adaptive threshold', 1e-6, 1e6)

    def __post_init__(self) -> None:
        """Validate every field (raise ConfigError naming the field)."""
        _validate(self, 'neuron.')
        if not self.theta_min <= self.threshold <= self.theta_max:
            raise ConfigError(f'neuron.threshold: {self.threshold} must lie in '
                              f'[neuron.theta_min, neuron.theta_max] = '
                              f'[{self.theta_min}, {self.theta_max}]')

    @property
    def reset_code(self) -> ResetMode:
        """Return the reset mode as an IntEnum code."""
        return enum_code(ResetMode, self.reset, 'neuron.reset')


@dataclass(frozen=True)
class LayerConfig:
    """Hidden layers: sizes, microcircuits, feedforward and recurrent wiring."""

    n_layers: int = _f(2, 'number K of stacked recurrent hidden layers', 1, 16, read_only=True)
    n_hidden: int = _f(1024, 'neurons per hidden layer', 1, 1 << 22, read_only=True)
    block_size: int = _f(64, 'neurons per microcircuit (dense recurrent block); must divide '
                         'n_hidden', 1, 1 << 16, read_only=True)
    p_input: float = _f(0.1, 'connection probability input -> layer 1', 0.0, 1.0, read_only=True)
    w_input: float = _f(0.022, 'input weights drawn from U(0, w_input)', 0.0, 100.0,
                        read_only=True)
    input_width: int = _f(0, 'image width of the input channels for local receptive fields '
                          '(0: no topology, input -> layer 1 uniformly random)', 0, 1 << 20,
                          read_only=True)
    input_height: int = _f(0, 'image height of the input channels (channel = plane * w * h '
                           '+ y * w + x)', 0, 1 << 20, read_only=True)
    rf_radius: float = _f(0.0, 'receptive field radius in pixels; layer-1 neurons connect '
                          'with p_input within it (used when input_width > 0)', 0.0, 1e6,
                          read_only=True)
    p_ff: float = _f(0.1, 'connection probability layer k-1 -> layer k', 0.0, 1.0,
                     read_only=True)
    w_ff: float = _f(0.065, 'feedforward weights U(0, w_ff * 1024 / n_hidden)', 0.0, 100.0,
                     read_only=True)
    w_rec_std: float = _f(0.02, 'recurrent weights N(0, w_rec_std) (magnitudes under Dale)',
                          0.0, 100.0, read_only=True)
    p_rewire_rec: float = _f(0.0, 'probability that a recurrent synapse is rewired to another '
                             'block (small-world shortcuts between microcircuits)', 0.0, 1.0,
                             read_only=True)
    dale: bool = _f(False, "Dale's law: one sign per presynaptic hidden neuron",
                    read_only=True)
    exc_fraction: float = _f(0.8, 'fraction of excitatory hidden neurons under Dale', 0.0, 1.0,
                             read_only=True)
    plastic_recurrent: bool = _f(True, 'recurrent synapses learn (else fixed)', read_only=True)

    def __post_init__(self) -> None:
        """Validate every field (raise ConfigError naming the field)."""
        _validate(self, 'layers.')
        if self.n_hidden % self.block_size:
            raise ConfigError(f'layers.block_size: {self.block_size} must divide '
                              f'layers.n_hidden = {self.n_hidden}')


@dataclass(frozen=True)
class ReadoutConfig:
    """Readout populations and the small-world projection from every hidden layer."""

    n_classes: int = _f(10, 'number C of classes', 2, 10000, read_only=True)
    pop_size: int = _f(4, 'LIF neurons per class', 1, 10000, read_only=True)
    window_steps: int = _f(100, 'decision window in steps (counts reset after a decision)',
                           1, 1 << 30)
    p_readout: float = _f(0.1, 'connection probability hidden -> readout: each hidden neuron '
                          'reaches round(p_readout * n_readout) readout neurons', 0.0, 1.0,
                          read_only=True)
    w_readout: float = _f(0.035, 'initial weights U(0, w_readout * 1024 / n_hidden)', 0.0,
                          100.0, read_only=True)
    p_rewire: float = _f(0.2, 'Watts-Strogatz rewiring probability of the ring lattice',
                         0.0, 1.0, read_only=True)
    delta_rule: bool = _f(True, 'readout eligibility is the presynaptic trace (delta rule '
                          'dw = lr x_pre err_class, also for silent readout neurons); false: '
                          'Hebbian x_pre at readout spikes', read_only=True)
    tau_mem_s: float = _f(0.0, 'membrane time constant of the readout neurons (0: '
                          'neuron.tau_mem_s); about the decision window makes them integrate '
                          'the evidence of the whole window', 0.0, 100.0, read_only=True)
    reset: str = _f('neuron', 'readout reset after a spike: as neuron.reset, to zero or by '
                    'subtracting the threshold (keeps the charge above it)',
                    choices=('neuron', 'zero', 'subtract'), read_only=True)
    target_rate_hz: float = _f(0.0, 'homeostatic target rate of the readout neurons (0: '
                               'neuron.target_rate_hz); a class population fires for about '
                               '1 / n_classes of the inputs, so a selective readout needs a '
                               'lower mean rate than dense hidden layers', 0.0, 1000.0,
                               read_only=True)

    def __post_init__(self) -> None:
        """Validate every field (raise ConfigError naming the field)."""
        _validate(self, 'readout.')

    def neuron(self, neuron: NeuronConfig) -> NeuronConfig:
        """Return ``neuron`` with this readout's time constant, reset and target rate."""
        return replace(neuron, tau_mem_s=self.tau_mem_s or neuron.tau_mem_s,
                       reset=neuron.reset if self.reset == 'neuron' else self.reset,
                       target_rate_hz=self.target_rate_hz or neuron.target_rate_hz)

    @property
    def n_readout(self) -> int:
        """Return the number of readout neurons (classes times population size)."""
        return self.n_classes * self.pop_size


@dataclass(frozen=True)
class TeachingConfig:
    """Sparse margin winner-take-all teaching signal."""

    margin: float = _f(2.0, 'required lead (spike counts) of the target over its strongest '
                       'rival', 0.0, 1e9)
    gain: float = _f(1.0, 'magnitude of the error of a violating unit', 0.0, 1e6)
    balance: bool = _f(True, 'violating rivals share the push-down -gain (the error sums to '
                       'zero), so silent readouts do not drift to ever lower weights')

    def __post_init__(self) -> None:
        """Validate every field (raise ConfigError naming the field)."""
        _validate(self, 'teaching.')


@dataclass(frozen=True)
class ModulationConfig:
    """Broadcast of the error to hidden neurons through modulatory populations."""

    n_populations: int = _f(16, 'number M of modulatory populations', 1, 100000,
                            read_only=True)
    mode: str = _f('populations', "error via modulatory populations or 'direct' to neurons "
                   '(ablation)', choices=('populations', 'direct'), read_only=True)
    feedback: str = _f('random', "fixed random feedback or 'symmetric' (current readout "
                       'weights, an ablation)', choices=('random', 'symmetric'), read_only=True)
    fan_in: int = _f(4, 'modulatory populations reaching each hidden neuron', 1, 100000,
                     read_only=True)
    gain: float = _f(1.0, 'scale of the modulatory signal at hidden neurons', 0.0, 1e6)
    baseline_tau: float = _f(20.0, 'reward baseline time constant in reward events', 1.0, 1e9)

    def __post_init__(self) -> None:
        """Validate every field (raise ConfigError naming the field)."""
        _validate(self, 'modulation.')
        if self.fan_in > self.n_populations:
            raise ConfigError(f'modulation.fan_in: {self.fan_in} exceeds '
                              f'modulation.n_populations = {self.n_populations}')

    @property
    def mode_code(self) -> ModulationMode:
        """Return the mode as an IntEnum code."""
        return enum_code(ModulationMode, self.mode, 'modulation.mode')

    @property
    def feedback_code(self) -> FeedbackMode:
        """Return the feedback kind as an IntEnum code."""
        return enum_code(FeedbackMode, self.feedback, 'modulation.feedback')


@dataclass(frozen=True)
class PlasticityConfig:
    """Three-factor learning of hidden synapses and the delta rule of readout synapses."""

    learning: bool = _f(True, 'learning on (weights change) or off; no state is lost')
    lr_hidden: float = _f(1e-4, 'learning rate of hidden synapses', 0.0, 1e3)
    lr_readout: float = _f(1e-3, 'learning rate of readout synapses', 0.0, 1e3)
    tau_elig_s: float = _f(0.02, 'eligibility trace time constant', 1e-5, 1e4, read_only=True)
    tau_pre_s: float = _f(0.02, 'presynaptic trace time constant', 1e-5, 1e4, read_only=True)
    w_max: float = _f(1.0, 'largest weight magnitude of any plastic synapse', 1e-9, 1e6,
                      read_only=True)
    elig_v_fraction: float = _f(
        1.0, 'hidden neurons whose membrane (after the leak) reaches this fraction of their '
        'threshold count as postsynaptic events of the eligibility of their incoming '
        'synapses (a one-sided box pseudo-derivative); 1 = spikes only', 0.01, 1.0,
        read_only=True)

    def __post_init__(self) -> None:
        """Validate every field (raise ConfigError naming the field)."""
        _validate(self, 'plasticity.')


_GROUPS = ('neuron', 'layers', 'readout', 'teaching', 'modulation', 'plasticity')


@dataclass(frozen=True)
class NetworkConfig:
    """Whole network: time step, input size and the nested groups."""

    dt_s: float = _f(0.001, 'time step', 1e-6, 10.0, read_only=True)
    n_inputs: int = _f(2312, 'number of input channels', 1, 1 << 30, read_only=True)
    neuron: NeuronConfig = _group(NeuronConfig)
    layers: LayerConfig = _group(LayerConfig)
    readout: ReadoutConfig = _group(ReadoutConfig)
    teaching: TeachingConfig = _group(TeachingConfig)
    modulation: ModulationConfig = _group(ModulationConfig)
    plasticity: PlasticityConfig = _group(PlasticityConfig)

    def __post_init__(self) -> None:
        """Validate every field (raise ConfigError naming the field)."""
        _validate(self, '')
        lay = self.layers
        if isinstance(lay, LayerConfig) and lay.input_width > 0:
            plane = lay.input_width * lay.input_height
            if plane == 0 or self.n_inputs % plane:
                raise ConfigError(f'layers.input_height: input_width * input_height = {plane} '
                                  f'must divide n_inputs = {self.n_inputs}')
            if lay.rf_radius <= 0.0:
                raise ConfigError('layers.rf_radius: must be > 0 when input_width > 0')
        for g in _GROUPS:
            sub = getattr(self, g)
            cls = _group_classes()[g]
            if not isinstance(sub, cls):
                raise ConfigError(f'{g}: expected a {cls.__name__}, got {type(sub).__name__}')

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetworkConfig:
        """Build a config from a nested (or dotted) dict; unknown keys raise ConfigError.

        Args:
            data: ``{'dt_s': 0.001, 'neuron': {'tau_mem_s': 0.02}, 'layers.n_hidden': 256}``.

        Returns:
            The validated config; missing keys take their defaults.

        Raises:
            ConfigError: unknown key (the message lists the valid ones) or invalid value.
        """
        if not isinstance(data, dict):
            raise ConfigError(f'config: expected a mapping, got {type(data).__name__}')
        nested = _nest(data)
        top_valid = [f.name for f in dataclasses.fields(cls)]
        kwargs: dict[str, Any] = {}
        for key, value in nested.items():
            if key not in top_valid:
                raise ConfigError(f'{key}: unknown parameter; valid: {sorted(top_valid)}')
            if key in _GROUPS:
                gcls = _group_classes()[key]
                if isinstance(value, gcls):
                    kwargs[key] = value
                    continue
                if not isinstance(value, dict):
                    raise ConfigError(f'{key}: expected a mapping, got {value!r}')
                valid = [f.name for f in dataclasses.fields(gcls)]
                for k in value:
                    if k not in valid:
                        raise ConfigError(f'{key}.{k}: unknown parameter; valid: '
                                          f'{sorted(valid)}')
                kwargs[key] = gcls(**value)
            else:
                kwargs[key] = value
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Return the config as a nested dict of plain values (JSON and YAML safe)."""
        return dataclasses.asdict(self)


def _group_classes() -> dict[str, type]:
    return {'neuron': NeuronConfig, 'layers': LayerConfig, 'readout': ReadoutConfig,
            'teaching': TeachingConfig, 'modulation': ModulationConfig,
            'plasticity': PlasticityConfig}


def _nest(data: dict[str, Any]) -> dict[str, Any]:
    """Turn dotted keys (``neuron.tau_mem_s``) into nested dicts; merge with nested ones."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            raise ConfigError(f'{key!r}: parameter names must be strings')
        parts = key.split('.')
        node = out
        for p in parts[:-1]:
            nxt = node.setdefault(p, {})
            if not isinstance(nxt, dict):
                raise ConfigError(f'{key}: {p} is not a group')
            node = nxt
        last = parts[-1]
        if isinstance(value, dict) and isinstance(node.get(last), dict):
            node[last].update(_nest(value))
        elif isinstance(value, dict):
            node[last] = _nest(value)
        else:
            node[last] = value
    return out


def load_yaml(path: str | Path, node_name: str = 'snn_core') -> NetworkConfig:
    """Load the network config of node ``node_name`` from a ROS-style params YAML file.

    Only the network's own keys (``dt_s``, ``n_inputs`` and the groups ``neuron``,
    ``layers``, ...) are read; node-level keys next to them (``mode``, ``inputs``, ``seed``,
    ... of the SNN core node) are ignored, so the package's ``config/*.yaml`` load as they
    are. :func:`load_yaml_params` also returns those.

    Args:
        path: YAML file (the package's ``config/*.yaml``).
        node_name: top-level key; ``/**`` is used when ``node_name`` is absent.

    Returns:
        The validated config. Unknown keys inside the network's groups raise ConfigError.

    Raises:
        ConfigError: missing node or ros__parameters, unknown group keys, invalid values.
    """
    return load_yaml_params(path, node_name)[0]


def load_yaml_params(path: str | Path, node_name: str = 'snn_core'
                     ) -> tuple[NetworkConfig, dict[str, Any]]:
    """Load a node's params from a ROS-style YAML: the network config and the other keys.

    Args:
        path: YAML file (the package's ``config/*.yaml``).
        node_name: top-level key; ``/**`` is used when ``node_name`` is absent.

    Returns:
        ``(config, rest)``: the validated network config (see :func:`load_yaml`) and the
        node-level parameters that are not the network's, as a nested dict (dotted keys
        nested), for the node's own config.

    Raises:
        ConfigError: missing node or ros__parameters, unknown group keys, invalid values.
    """
    import yaml

    with open(path, encoding='utf-8') as fh:
        doc = yaml.safe_load(fh) or {}
    if not isinstance(doc, dict):
        raise ConfigError(f'{path}: top level must be a mapping')
    key = node_name if node_name in doc else '/**' if '/**' in doc else None
    if key is None:
        raise ConfigError(f'{path}: no node {node_name!r}; found {sorted(map(str, doc))}')
    params = (doc[key] or {}).get('ros__parameters')
    if not isinstance(params, dict):
        raise ConfigError(f'{path}: {key}.ros__parameters missing or not a mapping')
    nested = _nest(params)
    own = {f.name for f in dataclasses.fields(NetworkConfig)}
    config = NetworkConfig.from_dict({k: v for k, v in nested.items() if k in own})
    return config, {k: v for k, v in nested.items() if k not in own}
