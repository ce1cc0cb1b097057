"""ROS-free spiking network core: numpy and numba only."""

from __future__ import annotations

from snn_ros.core.config import (LayerConfig, load_yaml, ModulationConfig, NetworkConfig,
                                 NeuronConfig, PlasticityConfig, ReadoutConfig, TeachingConfig)
from snn_ros.core.errors import CheckpointError, ConfigError, CoreError, InputError
from snn_ros.core.network import Decision, Network
from snn_ros.core.params import apply, describe, flatten, ParamSpec

__all__ = [
    'apply', 'CheckpointError', 'ConfigError', 'CoreError', 'Decision', 'describe', 'flatten',
    'InputError', 'LayerConfig', 'load_yaml', 'ModulationConfig', 'Network', 'NetworkConfig',
    'NeuronConfig', 'ParamSpec', 'PlasticityConfig', 'ReadoutConfig', 'TeachingConfig',
]
