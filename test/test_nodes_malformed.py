"""Malformed messages on every input topic leave every node running and show in /diagnostics."""

from __future__ import annotations

import math

import numpy as np
import pytest

rclpy = pytest.importorskip('rclpy')
from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from rclpy.qos import qos_profile_sensor_data  # noqa: E402
from sensor_msgs.msg import Image, Imu, JointState, LaserScan  # noqa: E402
from std_msgs.msg import Float32, Float32MultiArray, Int32, MultiArrayDimension  # noqa: E402

from event_camera_msgs.msg import EventPacket  # noqa: E402
from snn_ros.msg import SpikeEvents  # noqa: E402
from snn_ros.nodes.composed import adapter_class, ADAPTERS  # noqa: E402
from snn_ros.nodes.convert import spike_events  # noqa: E402
from snn_ros.nodes.readout_node import ReadoutNode  # noqa: E402
from snn_ros.nodes.snn_core_node import SnnCoreNode  # noqa: E402

from _graph import CAMERA, CORE, diag_values, EventStream, Graph, params, READOUT  # noqa: E402

pytestmark = pytest.mark.ros
NAN = math.nan


def _bad_messages():
    """Return ``{adapter: (msg_type, private input topic, [malformed messages])}``."""
    bad_events = [EventPacket(width=64, height=64, encoding='bogus'),
                  EventPacket(width=64, height=64, encoding='evt3', events=b'\x01'),
                  EventPacket(width=0, height=64, encoding='evt3', events=b'\x00\x00'),
                  EventPacket(width=100000, height=64, encoding='libcaer', events=b'\x00' * 8)]
    chunk = Float32MultiArray(data=[1.0, NAN, 2.0])
    chunk.layout.dim = [MultiArrayDimension(label='time', size=3, stride=3),
                        MultiArrayDimension(label='channels', size=1, stride=1)]
    imu = Imu()
    imu.linear_acceleration.x = NAN
    imu.header.stamp.sec = 1
    joints = JointState(name=['a', 'b'], position=[1.0], velocity=[NAN, NAN, NAN])
    scan = LaserScan(angle_min=0.0, angle_max=1.0, angle_increment=NAN, range_min=0.1,
                     range_max=10.0, ranges=[1.0, NAN, 2.0])
    scan_empty = LaserScan(angle_increment=0.0, ranges=[])
    image = Image(height=4, width=4, encoding='bogus', step=4, data=bytes(16))
    image_short = Image(height=4, width=4, encoding='mono8', step=4, data=bytes(3))
    return {
        'event_camera': (EventPacket, '~/events', bad_events),
        'biosignal': (Float32MultiArray, '~/signal', [Float32MultiArray(data=[1.0, 2.0]),
                                                      chunk]),
        'imu': (Imu, '~/imu', [imu]),
        'joint_state': (JointState, '~/joint_states', [joints]),
        'laser_scan': (LaserScan, '~/scan', [scan, scan_empty]),
        'image': (Image, '~/image', [image, image_short]),
        'array': (Float32MultiArray, '~/input', [Float32MultiArray(data=[1.0, 2.0, 3.0]),
                                                 Float32MultiArray(data=[NAN] * 8)]),
    }


def test_malformed_messages_are_counted_and_nodes_keep_running():
    g = Graph()
    try:
        ctx = g.context
        diags = g.listen(DiagnosticArray, '/diagnostics')
        fast = {'diagnostics_period_s': 0.2}
        overrides = {name: dict(CAMERA, **fast) if name == 'event_camera' else fast
                     for name in ADAPTERS}
        adapters = {name: g.add(adapter_class(name)(
            context=ctx, parameter_overrides=params(overrides[name]))) for name in ADAPTERS}
        core = g.add(SnnCoreNode(context=ctx, parameter_overrides=params(CORE)))
        readout = g.add(ReadoutNode(context=ctx, parameter_overrides=params(READOUT)))
        bad = _bad_messages()
        sent = {}
        for name, (msg_type, topic, msgs) in bad.items():
            full = adapters[name].resolve_topic_name(topic)
            g.publisher(msg_type, full, qos_profile_sensor_data)
            g.wait_for_subscribers(full)
            for msg in msgs:
                g.publish(msg_type, full, msg, qos_profile_sensor_data)
            sent[name] = len(msgs)
        # the core: wrong population size, out-of-range index, decreasing offsets, wrong dt,
        # label out of range, NaN reward, error of the wrong length
        core_bad = [spike_events(np.array([1]), np.array([0]), 1, 0, 10**6, 4096),
                    spike_events(np.array([200]), np.array([0]), 1, 0, 10**6, 128),
                    spike_events(np.array([1, 2]), np.array([1, 0]), 2, 0, 10**6, 128),
                    spike_events(np.array([1]), np.array([0]), 1, 0, 5 * 10**6, 128)]
        wrong_len = SpikeEvents(population_size=128, dt_ns=10**6, n_steps=1, indices=[1, 2],
                                step_offsets=[0])
        for msg in core_bad + [wrong_len]:
            g.publish(SpikeEvents, '/event_camera/spikes', msg)
        g.publish(Int32, '/snn_core/label', Int32(data=7))
        g.publish(Float32, '/snn_core/reward', Float32(data=NAN))
        g.publish(Float32MultiArray, '/snn_core/error', Float32MultiArray(data=[1.0, 2.0, 3.0]))
        g.publish(Float32MultiArray, '/snn_core/error', Float32MultiArray(data=[NAN, 0.0]))
        # the readout: population not a multiple of the classes, index out of range
        g.publish(SpikeEvents, '/snn_core/readout_spikes',
                  spike_events(np.array([0]), np.array([0]), 1, 0, 10**6, 7))
        g.publish(SpikeEvents, '/snn_core/readout_spikes',
                  spike_events(np.array([9]), np.array([0]), 1, 0, 10**6, 8))
        n_core_bad = 9

        def counted():
            return all(adapters[n].counters()['rejected'] >= sent[n] for n in sent) and \
                core.counts['rejected_messages'] >= n_core_bad and readout.errors.total >= 2
        assert g.spin_until(counted), ({n: a.counters() for n, a in adapters.items()},
                                       core.diagnostics_values(), readout.counters())
        for name, node in adapters.items():
            assert node.counters()['received'] == sent[name]
            assert node.counters()['decoded'] == 0, name
        # every node still works: a valid packet flows through to the readout
        g.publish(EventPacket, '/event_camera/events', EventStream(seed=9).packet(0),
                  qos_profile_sensor_data)
        assert g.spin_until(lambda: core.counts['steps'] > 0 and readout.decisions > 0)
        # ... and the rejections are in /diagnostics, per node
        expect = {f'/{n}: adapter': sent[n] for n in sent}
        expect['/snn_core: snn_core'] = n_core_bad
        expect['/readout: readout'] = 2

        def reported():
            return all(int(diag_values(diags, k).get('rejected_messages' if 'adapter' not in k
                                                     else 'rejected', -1)) >= v
                       for k, v in expect.items())
        assert g.spin_until(reported, 30.0), {k: diag_values(diags, k) for k in expect}
        core_diag = diag_values(diags, '/snn_core: snn_core')
        for reason in ('population_size', 'out_of_range', 'step_offsets', 'dt_mismatch',
                       'shape', 'bad_label', 'bad_reward', 'bad_error'):
            assert int(core_diag.get(f'rejected_{reason}', 0)) >= 1, (reason, core_diag)
        assert core.net.t == core.counts['steps']
    finally:
        g.close()
