"""Parameters come from the config dataclasses; live ones change, invalid ones are refused.

Through the real parameter services: a refusal carries a reason and nothing is half applied.
"""

from __future__ import annotations

import pytest

rclpy = pytest.importorskip('rclpy')
from geometry_msgs.msg import Twist  # noqa: E402
from rcl_interfaces.msg import ParameterType  # noqa: E402
from rclpy.parameter import Parameter, parameter_value_to_python  # noqa: E402
from rclpy.parameter_client import AsyncParameterClient  # noqa: E402

from event_camera_msgs.msg import EventPacket  # noqa: E402
from snn_ros.core.config import NetworkConfig  # noqa: E402
from snn_ros.core.params import describe  # noqa: E402
from snn_ros.msg import Decision, SpikeEvents  # noqa: E402
from snn_ros.nodes.event_camera_node import EventCameraNode  # noqa: E402
from snn_ros.nodes.readout_node import ReadoutNode  # noqa: E402
from snn_ros.nodes.snn_core_node import SnnCoreNode  # noqa: E402

from _graph import CAMERA, CORE, EventStream, Graph, params, READOUT  # noqa: E402

pytestmark = pytest.mark.ros


@pytest.fixture
def graph():
    g = Graph()
    g.camera = g.add(EventCameraNode(context=g.context, parameter_overrides=params(CAMERA)))
    g.core = g.add(SnnCoreNode(context=g.context, parameter_overrides=params(CORE)))
    g.readout = g.add(ReadoutNode(context=g.context, parameter_overrides=params(READOUT)))
    yield g
    g.close()


def _client(g, node):
    client = AsyncParameterClient(g.probe, node)
    assert g.spin_until(client.services_are_ready)
    return client


def _set(g, client, values, atomic=False):
    ps = [Parameter(k, value=v) for k, v in values.items()]
    future = client.set_parameters_atomically(ps) if atomic else client.set_parameters(ps)
    assert g.spin_until(future.done)
    results = future.result().result if atomic else future.result().results
    return results if not atomic else [results]


def _get(g, client, names):
    future = client.get_parameters(names)
    assert g.spin_until(future.done)
    return [parameter_value_to_python(v) for v in future.result().values]


def test_every_core_field_is_a_described_ranged_parameter(graph):
    core = graph.core
    for spec in describe(NetworkConfig):
        desc = core.describe_parameter(spec.name)
        assert desc.description, spec.name
        assert desc.read_only == spec.read_only, spec.name
        if spec.type in ('int', 'float') and spec.min is not None:
            ranges = desc.integer_range if spec.type == 'int' else desc.floating_point_range
            assert len(ranges) == 1 and ranges[0].from_value == spec.min, spec.name
    assert core.describe_parameter('mode').read_only
    assert core.describe_parameter('inputs.topics').type == ParameterType.PARAMETER_STRING_ARRAY
    for name in ('control.gain_linear', 'control.max_linear', 'watchdog.deadline_s'):
        desc = graph.readout.describe_parameter(name)
        assert desc.description and not desc.read_only
    assert graph.camera.describe_parameter('out_width').read_only


def test_live_core_parameters_take_effect(graph):
    g = graph
    client = _client(g, 'snn_core')
    results = _set(g, client, {'plasticity.lr_hidden': 0.01, 'teaching.margin': 5.0,
                               'plasticity.learning': False})
    assert all(r.successful for r in results), results
    assert g.core.net.learning_rate == 0.01
    assert g.core.net.config.teaching.margin == 5.0
    assert g.core.net.learning is False
    assert _get(g, client, ['plasticity.lr_hidden']) == [0.01]


def test_invalid_parameters_are_refused_with_a_reason(graph):
    g = graph
    client = _client(g, 'snn_core')
    net_before = g.core.net.config
    (r,) = _set(g, client, {'layers.n_hidden': 32})
    assert not r.successful and 'read-only' in r.reason
    (r,) = _set(g, client, {'plasticity.lr_hidden': -1.0})
    assert not r.successful and 'range' in r.reason
    (r,) = _set(g, client, {'neuron.theta_min': 3.0})  # above the threshold 1.0
    assert not r.successful and 'theta_min' in r.reason
    (r,) = _set(g, client, {'plasticity.lr_hidden': 'fast'})
    assert not r.successful and r.reason
    # atomically: one invalid value refuses all, nothing is half applied
    (r,) = _set(g, client, {'plasticity.lr_readout': 0.5, 'neuron.theta_max': 0.5},
                atomic=True)
    assert not r.successful and 'theta' in r.reason
    assert g.core.net.config == net_before
    assert g.core.get_parameter('plasticity.lr_readout').value == net_before.plasticity.lr_readout
    readout = _client(g, 'readout')
    (r,) = _set(g, readout, {'control.table_linear_x': [0.1, 0.2, 0.3]})
    assert not r.successful and 'table_linear_x' in r.reason
    (r,) = _set(g, readout, {'n_classes': 3})
    assert not r.successful and 'read-only' in r.reason


def test_readout_limits_and_gains_change_the_command(graph):
    g = graph
    twists = g.listen(Twist, '/cmd_vel')
    decisions = g.listen(Decision, '/readout/decision')
    g.publisher(EventPacket, '/event_camera/events')
    g.wait_for_subscribers('/event_camera/events')
    stream = EventStream(seed=5)
    client = _client(g, 'readout')
    results = _set(g, client, {'control.max_linear': 0.05, 'control.gain_angular': 0.1,
                               'control.smoothing': 0.0, 'watchdog.deadline_s': 60.0})
    assert all(r.successful for r in results)
    for k in range(4):
        g.publish(EventPacket, '/event_camera/events', stream.packet(k % 2))
        assert g.spin_until(lambda: len(decisions) > k)
    assert g.spin_until(lambda: len(twists) >= 4)
    moving = [t for t in twists if t.linear.x or t.angular.z]
    assert moving, 'no decision produced a command'
    assert all(abs(t.linear.x) <= 0.05 + 1e-9 for t in twists)
    assert all(abs(t.angular.z) <= 0.05 + 1e-9 for t in twists)
    assert any(abs(t.linear.x) == pytest.approx(0.05) for t in moving)


def test_hidden_spikes_switch_on_at_run_time(graph):
    g = graph
    hidden = g.listen(SpikeEvents, '/snn_core/hidden_spikes')
    g.publisher(EventPacket, '/event_camera/events')
    g.wait_for_subscribers('/event_camera/events')
    stream = EventStream(seed=6)
    client = _client(g, 'snn_core')
    g.publish(EventPacket, '/event_camera/events', stream.packet(0))
    assert g.spin_until(lambda: g.core.counts['steps'] >= 20)
    g.spin_for(0.2)
    assert not hidden
    results = _set(g, client, {'hidden.publish': True, 'hidden.max_rate_hz': 1000.0})
    assert all(r.successful for r in results)
    g.publish(EventPacket, '/event_camera/events', stream.packet(1))
    assert g.spin_until(lambda: len(hidden) >= 1)
    msg = hidden[0]
    assert msg.population_size == 64 and msg.n_steps == 20 and len(msg.indices) > 0
