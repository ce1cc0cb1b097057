"""Live replay into the ROS graph gives the offline replay's decisions; real recordings replay."""

from __future__ import annotations

import threading
import time

import pytest

from snn_ros.replay import load_params, replay

from _replay_bags import EVENTS_TOPIC, PARAMS_YAML, write_test_bag
from conftest import shared_data

pytestmark = pytest.mark.ros


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp('live')
    params = d / 'params.yaml'
    params.write_text(PARAMS_YAML)
    bag = write_test_bag(d / 'mixed', 'mcap')
    return bag, params


def test_live_replay_into_the_graph_equals_offline_replay(setup):
    """Replay EventPacket, Imu, biosignal and labels offline and through the graph: same decisions.

    Tolerance: none (bitwise-equal spike counts) in lockstep, where the player publishes a
    message once the graph has handled the previous one. The core's status timer must not
    fire during the run (it brings weights up to date at wall-clock moments, which can change
    float rounding), hence ``status_period_s: 3600`` in the params.
    """
    from snn_ros.play import play

    bag, params = setup
    offline = replay(bag, load_params(params))
    live = play(bag, rate=1.0, graph=params, lockstep=True, settle_s=0.3)
    assert live['published'][EVENTS_TOPIC] == 40
    nodes = live['nodes']
    assert nodes['event_camera']['decoded'] == 40 and nodes['imu']['decoded'] == 20
    assert nodes['biosignal']['decoded'] == 10
    assert nodes['snn_core']['steps'] == offline.summary['core']['steps']
    off = [(d.stamp_ns, d.class_index, d.spike_counts) for d in offline.decisions]
    assert len(off) >= 20
    assert live['decisions'] == off


def test_play_publishes_with_timing_and_clock(setup):
    """Without a graph: messages arrive on their topics (remapped) and /clock follows bag time."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import Imu

    from snn_ros.play import play

    bag, _ = setup
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    node = rclpy.create_node('play_listener', context=ctx)
    got: list[int] = []
    clock: list[int] = []
    node.create_subscription(Imu, '/robot/imu', lambda m: got.append(
        m.header.stamp.sec * 10 ** 9 + m.header.stamp.nanosec), 100)
    node.create_subscription(Clock, '/clock', lambda m: clock.append(
        m.clock.sec * 10 ** 9 + m.clock.nanosec), 1000)
    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(node)
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            ex.spin_once(timeout_sec=0.02)

    th = threading.Thread(target=spin, daemon=True)
    th.start()
    try:
        t0 = time.monotonic()
        res = play(bag, rate=4.0, remap={'/imu/imu': '/robot/imu'}, topics=['/imu/imu'])
        wall = time.monotonic() - t0
        deadline = time.monotonic() + 5
        while len(got) < 20 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        th.join(2)
        ex.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=ctx)
    assert res['published'] == {'/imu/imu': 20}
    assert len(got) == 20 and got == sorted(got)
    # 20 IMU messages span 0.95 s of bag time: at rate 4 that is at least ~0.24 s of wall time
    assert wall >= 0.2
    assert clock and clock == sorted(clock) and len(clock) >= 20


def test_real_recordings_replay_end_to_end(tmp_path):
    """The real event-camera bags (sqlite3, ROS 1, MCAP with broken metadata) replay."""
    root = shared_data('ros-event-bags')
    params = tmp_path / 'real.yaml'
    params.write_text(
        'event_camera:\n  ros__parameters: {out_width: 32, out_height: 24}\n'
        'snn_core:\n  ros__parameters:\n    mode: data\n    n_inputs: 1536\n'
        '    inputs: {topics: [event_camera/spikes], offsets: [0], sizes: [1536]}\n'
        '    layers: {n_layers: 1, n_hidden: 64, block_size: 32}\n'
        '    readout: {n_classes: 4, pop_size: 2, window_steps: 100}\n'
        'readout:\n  ros__parameters: {n_classes: 4, window_steps: 100}\n')
    p = load_params(params)
    db3 = replay(root / 'event_camera_py' / 'test_events_1', p)
    ros1 = replay(root / 'event_camera_py' / 'test_events_1.bag', p)
    assert db3.summary['sensor_messages'] == ros1.summary['sensor_messages'] == 517
    assert db3.summary['adapters']['event_camera']['decoded'] == 517
    assert db3.summary['decisions'] > 10
    # the ROS 1 copy holds the same payloads: the same decisions
    assert [(d.stamp_ns, d.spike_counts) for d in db3.decisions] == [
        (d.stamp_ns, d.spike_counts) for d in ros1.decisions]
    mcap = replay(root / 'event_camera_py' / 'test_events_2', p)  # unusable metadata.yaml
    assert mcap.summary['sensor_messages'] == 100
    assert mcap.summary['bags'][0]['truncated'] is False
    ad = mcap.summary['adapters']['event_camera']
    assert ad['received'] == 100 and ad['decoded'] + ad['rejected'] == 100
    trig = replay(root / 'event_camera_codecs' / 'test_data_evt3_trigger', p)
    assert trig.summary['adapters']['event_camera']['decoded'] == 105
