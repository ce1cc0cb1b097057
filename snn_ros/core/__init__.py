"""ROS-free spiking network core: numpy and numba only."""

from __future__ import annotations

from snn_ros.core.config import (LayerConfig, load_yaml, load_yaml_params, ModulationConfig,
                                 NetworkConfig, NeuronConfig, PlasticityConfig, ReadoutConfig,
                                 TeachingConfig)
from snn_ros.core.errors import CheckpointError, ConfigError, CoreError, InputError
from snn_ros.core.network import decide, Decision, Network, NO_DECISION
from snn_ros.core.params import apply, describe, flatten, ParamSpec

__all__ = [
    'apply', 'CheckpointError', 'ConfigError', 'CoreError', 'decide', 'Decision', 'describe',
    'flatten', 'InputError', 'LayerConfig', 'load_yaml', 'load_yaml_params', 'ModulationConfig',
    'Network', 'NetworkConfig', 'NO_DECISION', 'NeuronConfig', 'ParamSpec', 'PlasticityConfig',
    'ReadoutConfig', 'TeachingConfig',
]
