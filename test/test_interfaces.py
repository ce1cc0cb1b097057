"""Every project message and EventPacket make a round trip between two processes over DDS."""

from __future__ import annotations

import os
from pathlib import Path
import subprocess
import sys
import time

import numpy as np
import pytest

rclpy = pytest.importorskip('rclpy')
from rclpy.node import Node  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402

from event_camera_msgs.msg import EventPacket  # noqa: E402
from snn_ros.msg import Decision, LearningStatus, SpikeEvents  # noqa: E402
from snn_ros.srv import Checkpoint  # noqa: E402

pytestmark = pytest.mark.ros
ECHO = Path(__file__).with_name('_echo_node.py')


def _samples():
    rng = np.random.default_rng(1)
    spikes = SpikeEvents()
    spikes.header.stamp.sec, spikes.header.stamp.nanosec = 12, 345
    spikes.header.frame_id = 'camera'
    spikes.population_size, spikes.dt_ns, spikes.n_steps = 2312, 1_000_000, 5
    spikes.indices = rng.integers(0, 2312, 500).astype(np.uint32).tolist()
    spikes.step_offsets = np.sort(rng.integers(0, 5, 500)).astype(np.uint32).tolist()
    decision = Decision(class_index=3, class_name='three', spike_counts=[0, 1, 2, 9],
                        margin=7.0, confidence=0.5833, window_steps=300,
                        learning_enabled=True)
    status = LearningStatus(step=10_000, learning_enabled=False, learning_rate=1e-3,
                            layer_rate_hz=[15.0, 17.5, 3.0], threshold_mean=[1.0, 1.1],
                            weight_names=['in_l1', 'l1_l2'], weight_norm=[3.5, 2.25],
                            modulatory_activity=[0.5] * 16, reward_baseline=-0.25,
                            input_spikes=123, dropped_input_spikes=4, rejected_messages=2)
    packet = EventPacket(height=480, width=640, seq=77, time_base=123456789,
                         encoding='evt3', is_bigendian=False)
    packet.events = rng.integers(0, 256, 100_000).astype(np.uint8).tobytes()
    return [spikes, decision, status, packet]


def _fields(msg):
    out = {}
    for name in msg.get_fields_and_field_types():
        value = getattr(msg, name)
        if hasattr(value, 'get_fields_and_field_types'):
            value = _fields(value)
        elif isinstance(value, (np.ndarray, list, tuple, bytes, bytearray)) or \
                type(value).__name__ == 'array':
            value = [round(v, 4) if isinstance(v, float) else v for v in list(value)]
        elif isinstance(value, float):
            value = round(value, 4)
        out[name] = value
    return out


@pytest.fixture(scope='module')
def echo_process():
    types = ['snn_ros.msg.SpikeEvents', 'snn_ros.msg.Decision', 'snn_ros.msg.LearningStatus',
             'event_camera_msgs.msg.EventPacket']
    proc = subprocess.Popen([sys.executable, str(ECHO), *types], stdout=subprocess.PIPE,
                            env=dict(os.environ), text=True)
    assert proc.stdout.readline().strip() == 'ready'
    yield proc
    proc.terminate()
    proc.wait(timeout=10)


def test_messages_round_trip_between_processes(echo_process):
    rclpy.init()
    try:
        node = Node('snn_ros_test_sender')
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        received = {}
        pubs = {}
        for msg in _samples():
            name = type(msg).__name__
            pubs[name] = (node.create_publisher(type(msg), f'/snn_ros_test/in/{name}', qos), msg)
            node.create_subscription(type(msg), f'/snn_ros_test/out/{name}',
                                     lambda m, n=name: received.setdefault(n, m), qos)
        deadline = time.monotonic() + 30.0
        while len(received) < len(pubs) and time.monotonic() < deadline:
            for name, (pub, msg) in pubs.items():
                if name not in received:
                    pub.publish(msg)
            rclpy.spin_once(node, timeout_sec=0.2)
        assert set(received) == set(pubs), f'no echo for {set(pubs) - set(received)}'
        for name, (_, msg) in pubs.items():
            assert _fields(received[name]) == _fields(msg), name
        assert len(received['EventPacket'].events) == 100_000
        node.destroy_node()
    finally:
        rclpy.shutdown()


def test_checkpoint_service_types_are_generated():
    req = Checkpoint.Request(path='/tmp/x.npz')
    res = Checkpoint.Response(success=True, message='saved')
    assert req.path == '/tmp/x.npz' and res.success and res.message == 'saved'
