"""Config validation, the flat parameter view and YAML loading."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from snn_ros.core import (apply, ConfigError, describe, flatten, load_yaml, load_yaml_params,
                          NetworkConfig, NeuronConfig)
from snn_ros.core.config import FeedbackMode, ModulationMode, ResetMode


def test_defaults_are_valid_and_round_trip():
    cfg = NetworkConfig()
    assert NetworkConfig.from_dict(cfg.to_dict()) == cfg
    assert NetworkConfig.from_dict(flatten(cfg)) == cfg
    assert cfg.neuron.reset_code is ResetMode.ZERO
    assert cfg.modulation.mode_code is ModulationMode.POPULATIONS
    assert cfg.modulation.feedback_code is FeedbackMode.RANDOM
    assert cfg.layers.n_layers == 2 and cfg.modulation.n_populations == 16


def test_every_field_has_metadata():
    specs = describe(NetworkConfig)
    assert len(specs) == len(flatten(NetworkConfig()))
    for s in specs:
        assert s.description
        assert s.choices is not None or (s.min is not None and s.max is not None) or (
            s.type == 'bool')
    by_name = {s.name: s for s in specs}
    assert by_name['neuron.reset'].choices == ('zero', 'subtract')
    assert by_name['plasticity.lr_hidden'].read_only is False
    assert by_name['layers.n_hidden'].read_only is True


@pytest.mark.parametrize('key,value,field', [
    ('neuron.tau_mem_s', 0.0, 'neuron.tau_mem_s'),
    ('neuron.tau_mem_s', 'fast', 'neuron.tau_mem_s'),
    ('neuron.reset', 'bounce', 'neuron.reset'),
    ('neuron.refractory_steps', 1.5, 'neuron.refractory_steps'),
    ('neuron.homeostasis', 1, 'neuron.homeostasis'),
    ('layers.n_hidden', 100, 'layers.block_size'),
    ('layers.p_input', 1.5, 'layers.p_input'),
    ('readout.n_classes', 1, 'readout.n_classes'),
    ('readout.tau_mem_s', -0.1, 'readout.tau_mem_s'),
    ('readout.reset', 'neutral', 'readout.reset'),
    ('modulation.mode', 'broadcast', 'modulation.mode'),
    ('modulation.fan_in', 17, 'modulation.fan_in'),
    ('plasticity.lr_hidden', float('nan'), 'plasticity.lr_hidden'),
    ('dt_s', -1.0, 'dt_s'),
    ('neuron.nonsense', 1, 'neuron.nonsense'),
    ('nonsense', 1, 'nonsense'),
])
def test_invalid_values_name_the_field(key, value, field):
    with pytest.raises(ConfigError, match=field.replace('.', r'\.')):
        apply(NetworkConfig(), {key: value})


def test_unknown_key_lists_valid_ones():
    with pytest.raises(ConfigError, match='tau_mem_s'):
        NetworkConfig.from_dict({'neuron': {'tau': 1.0}})


def test_apply_is_all_or_nothing():
    cfg = NetworkConfig()
    with pytest.raises(ConfigError):
        apply(cfg, {'plasticity.lr_hidden': 0.5, 'layers.p_ff': 2.0})
    assert cfg.plasticity.lr_hidden == 1e-4
    new = apply(cfg, {'plasticity.lr_hidden': 0.5, 'neuron.tau_mem_s': 1})
    assert new.plasticity.lr_hidden == 0.5 and isinstance(new.neuron.tau_mem_s, float)
    with pytest.raises(ConfigError, match='read-only'):
        apply(cfg, {'layers.n_hidden': 512}, allow_read_only=False)


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        NeuronConfig().threshold = 2.0


def test_load_yaml_nested_and_dotted(tmp_path):
    path = tmp_path / 'core.yaml'
    path.write_text('snn_core:\n  ros__parameters:\n    dt_s: 0.002\n'
                    '    neuron:\n      tau_mem_s: 0.03\n'
                    '    layers.n_hidden: 128\n    layers.block_size: 32\n')
    cfg = load_yaml(path)
    assert cfg.dt_s == 0.002 and cfg.neuron.tau_mem_s == 0.03
    assert cfg.layers.n_hidden == 128
    with pytest.raises(ConfigError, match='other'):
        load_yaml(path, 'other')
    path.write_text('snn_core:\n  ros__parameters:\n    neuron:\n      bogus: 1\n')
    with pytest.raises(ConfigError, match='neuron.bogus'):
        load_yaml(path)


def test_input_topology_validation():
    with pytest.raises(ConfigError, match='input_height'):
        NetworkConfig.from_dict({'n_inputs': 100, 'layers.input_width': 7,
                                 'layers.input_height': 7, 'layers.rf_radius': 2.0})
    with pytest.raises(ConfigError, match='rf_radius'):
        NetworkConfig.from_dict({'n_inputs': 98, 'layers.input_width': 7,
                                 'layers.input_height': 7})


@pytest.mark.parametrize('path', sorted((Path(__file__).resolve().parents[1] / 'config')
                                        .glob('*.yaml')), ids=lambda p: p.name)
def test_package_yamls_load(path):
    """Every ``config/*.yaml`` with an ``snn_core`` section loads (node-level keys set aside)."""
    import yaml

    doc = yaml.safe_load(path.read_text()) or {}
    if not isinstance(doc, dict) or 'snn_core' not in doc:
        pytest.skip('no snn_core section')
    cfg, rest = load_yaml_params(path)
    assert cfg == load_yaml(path)
    assert not set(rest) & {f.name for f in dataclasses.fields(NetworkConfig)}


def test_load_yaml_ignores_node_level_keys(tmp_path):
    path = tmp_path / 'core.yaml'
    path.write_text('snn_core:\n  ros__parameters:\n    mode: data\n    seed: 3\n'
                    '    inputs: {topics: [a/spikes], offsets: [0], sizes: [0]}\n'
                    '    n_inputs: 64\n    readout.n_classes: 4\n')
    cfg, rest = load_yaml_params(path)
    assert cfg.n_inputs == 64 and cfg.readout.n_classes == 4
    assert rest == {'mode': 'data', 'seed': 3,
                    'inputs': {'topics': ['a/spikes'], 'offsets': [0], 'sizes': [0]}}
