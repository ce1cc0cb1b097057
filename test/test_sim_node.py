"""The MuJoCo sim node over real DDS: sensors, /clock, reward, cmd_vel, and the watchdogs."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

pytest.importorskip('mujoco')
rclpy = pytest.importorskip('rclpy')
from geometry_msgs.msg import Twist  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import qos_profile_sensor_data, QoSProfile, ReliabilityPolicy  # noqa: E402
from rosgraph_msgs.msg import Clock  # noqa: E402
from sensor_msgs.msg import Image, Imu, JointState, LaserScan  # noqa: E402
from std_msgs.msg import Float32, Int32  # noqa: E402

from snn_ros.msg import SpikeEvents  # noqa: E402
from snn_ros.nodes.convert import spike_events  # noqa: E402
from snn_ros.nodes.readout_node import ReadoutNode  # noqa: E402
from snn_ros.nodes.sim_node import SimNode  # noqa: E402

pytestmark = pytest.mark.ros
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


@pytest.fixture
def ros():
    rclpy.init()
    executor = SingleThreadedExecutor()
    nodes = []

    def add(node):
        nodes.append(node)
        executor.add_node(node)
        return node
    try:
        yield executor, add
    finally:
        for node in nodes:
            executor.remove_node(node)
            node.destroy_node()
        executor.shutdown()
        rclpy.shutdown()


def spin_until(executor, cond, timeout_s=20.0):
    deadline = time.monotonic() + timeout_s
    while not cond() and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.01)
    return cond()


def params(**kw):
    return [Parameter(k, value=v) for k, v in kw.items()]


class Probe(Node):
    """Record the last message of every sim topic and publish cmd_vel."""

    def __init__(self):
        super().__init__('sim_probe')
        self.got = {}
        for name, typ, topic, qos in (
                ('joint_states', JointState, 'joint_states', qos_profile_sensor_data),
                ('imu', Imu, 'imu', qos_profile_sensor_data),
                ('scan', LaserScan, 'scan', qos_profile_sensor_data),
                ('image', Image, 'camera/image_raw', qos_profile_sensor_data),
                ('clock', Clock, '/clock', RELIABLE),
                ('reward', Float32, 'sim/reward', RELIABLE),
                ('episode', Int32, 'sim/episode', RELIABLE)):
            self.create_subscription(typ, topic, lambda m, n=name: self._store(n, m), qos)
        self.cmd = self.create_publisher(Twist, 'cmd_vel', RELIABLE)

    def _store(self, name, msg):
        self.got.setdefault(name, []).append(msg)


def _twist(lin, ang):
    msg = Twist()
    msg.linear.x, msg.angular.z = float(lin), float(ang)
    return msg


def test_mobile_sim_publishes_sensors_and_obeys_cmd_vel(ros):
    executor, add = ros
    sim = add(SimNode(parameter_overrides=params(task='mobile', seed=1, real_time_factor=5.0,
                                                 camera=True, n_beams=72)))
    probe = add(Probe())
    names = ('joint_states', 'imu', 'scan', 'image', 'clock', 'reward')
    assert spin_until(executor, lambda: all(n in probe.got for n in names)), probe.got.keys()
    scan = probe.got['scan'][-1]
    assert len(scan.ranges) == 72 and scan.header.frame_id == 'laser'
    assert scan.angle_min == pytest.approx(-math.pi)
    assert scan.range_min < min(scan.ranges) and max(scan.ranges) <= scan.range_max
    js = probe.got['joint_states'][-1]
    assert list(js.name) == ['wheel_left', 'wheel_right'] and len(js.velocity) == 2
    imu = probe.got['imu'][-1]
    assert imu.linear_acceleration.z == pytest.approx(9.81, abs=0.5)
    img = probe.got['image'][-1]
    assert img.encoding == 'mono8' and len(img.data) == img.height * img.width > 0
    # Stamps are simulated time and /clock runs ahead of or with them.
    stamp = lambda s: s.sec + s.nanosec * 1e-9  # noqa: E731
    assert stamp(probe.got['clock'][-1].clock) >= stamp(js.header.stamp) > 0.0
    # Nothing commanded: the robot stands still.
    assert abs(sim.last_result.obs.state['v_forward']) < 0.02
    x0, y0, yaw0 = sim.env.pose()
    n0 = sim.steps

    def drive():
        probe.cmd.publish(_twist(0.3, 0.0))
        return sim.steps >= n0 + 15
    assert spin_until(executor, drive)
    assert sim.commands_received > 0 and sim.command() == (0.3, 0.0)
    x1, y1, _ = sim.env.pose()
    moved = (x1 - x0) * math.cos(yaw0) + (y1 - y0) * math.sin(yaw0)
    assert moved > 0.2
    assert sim.last_result.obs.state['v_forward'] == pytest.approx(0.3, rel=0.15)


def test_pendulum_sim_torque_from_cmd_vel_and_episode_resets(ros):
    executor, add = ros
    sim = add(SimNode(parameter_overrides=params(task='pendulum', seed=2, max_steps=10,
                                                 real_time_factor=10.0)))
    probe = add(Probe())
    assert spin_until(executor, lambda: len(probe.got.get('episode', [])) >= 2)
    assert 'scan' not in probe.got
    js = probe.got['joint_states'][-1]
    assert list(js.name) == ['hinge'] and len(js.position) == 1
    rewards = [m.data for m in probe.got['reward']]
    assert all(0.0 <= r <= 2.0 for r in rewards)
    assert [m.data for m in probe.got['episode']][:2] == [0, 1] or \
        [m.data for m in probe.got['episode']][-1] >= 1
    n0 = sim.steps

    def push():
        probe.cmd.publish(_twist(0.0, 1.0))
        return sim.steps >= n0 + 3
    assert spin_until(executor, push)
    assert sim.last_result.obs.joint_effort[0] == pytest.approx(3.0)


class FakeSnn(Node):
    """Stand-in for the SNN core: readout spikes of class ``cls`` every 10 ms."""

    def __init__(self, cls=1, n_classes=3, pop=8):
        super().__init__('fake_snn')
        self.pub = self.create_publisher(SpikeEvents, 'snn_core/readout_spikes',
                                         QoSProfile(depth=100,
                                                    reliability=ReliabilityPolicy.RELIABLE))
        idx = np.arange(cls * pop, (cls + 1) * pop)
        self.msg = lambda: spike_events(idx, np.zeros(pop, np.uint32), 10, time.time_ns(),
                                        1_000_000, n_classes * pop)
        self.create_timer(0.01, lambda: self.pub.publish(self.msg()))


def test_stopping_the_snn_stops_the_robot_through_the_readout_watchdog(ros):
    executor, add = ros
    # The sim's own timeout is off here, so only the readout node's watchdog can stop it.
    sim = add(SimNode(parameter_overrides=params(task='mobile', seed=3, real_time_factor=2.0,
                                                 cmd_timeout_s=0.0)))
    readout = add(ReadoutNode(parameter_overrides=params(**{
        'n_classes': 3, 'window_steps': 10, 'control.table_linear_x': [0.05, 0.3, 0.05],
        'control.table_angular_z': [2.5, 0.0, -2.5], 'control.max_linear': 0.5,
        'control.max_angular': 3.0, 'watchdog.deadline_s': 0.3})))
    snn = add(FakeSnn(cls=1))
    assert spin_until(executor, lambda: sim.last_result is not None
                      and sim.last_result.obs.state['v_forward'] > 0.25)
    assert readout.decisions > 0 and sim.command() == pytest.approx((0.3, 0.0))
    executor.remove_node(snn)  # the SNN stops
    snn.destroy_node()
    t_stop = sim.sim_time_ns
    assert spin_until(executor, lambda: readout.stale and sim.command() == (0.0, 0.0)
                      and abs(sim.last_result.obs.state['v_forward']) < 0.02)
    assert readout.zero_commands > 0
    # Stopped within the deadline plus a few control periods of simulated time.
    assert (sim.sim_time_ns - t_stop) * 1e-9 < 0.3 * 2.0 + 1.0


def test_sim_cmd_timeout_is_a_second_safety_layer(ros):
    executor, add = ros
    sim = add(SimNode(parameter_overrides=params(task='mobile', seed=4, real_time_factor=2.0,
                                                 cmd_timeout_s=0.3)))
    probe = add(Probe())
    n0 = sim.steps

    def drive():
        probe.cmd.publish(_twist(0.3, 0.0))
        return sim.steps >= n0 + 8
    assert spin_until(executor, drive)
    assert sim.last_result.obs.state['v_forward'] > 0.25
    # The command source dies without a last zero message.
    assert spin_until(executor, lambda: sim.command() == (0.0, 0.0)
                      and abs(sim.last_result.obs.state['v_forward']) < 0.02)
    assert sim.cmd_timeouts == 1


def test_lockstep_waits_for_its_graph_and_survives_a_dead_controller(ros):
    executor, add = ros
    sim = add(SimNode(parameter_overrides=params(task='mobile', seed=5, lockstep=True,
                                                 lockstep_timeout_s=0.05, cmd_timeout_s=0.3,
                                                 real_time_factor=100.0)))
    for _ in range(30):
        executor.spin_once(timeout_sec=0.01)
    assert sim.steps == 0 and sim.sim_time_ns == 0  # nobody listens or commands yet
    ctl = add(Node('controller'))
    pub = ctl.create_publisher(Twist, 'cmd_vel', RELIABLE)
    ctl.create_subscription(Float32, 'sim/reward', lambda m: None, RELIABLE)
    ctl.create_subscription(LaserScan, 'scan', lambda m: pub.publish(_twist(0.3, 0.0)),
                            qos_profile_sensor_data)
    assert spin_until(executor, lambda: sim.steps >= 15)
    # One command per period: the sim never ran ahead of its controller.
    assert sim.lockstep_timeouts == 0 and sim.commands_received >= sim.steps
    assert sim.last_result.obs.state['v_forward'] > 0.25
    executor.remove_node(ctl)  # the controller dies without a last zero command
    ctl.destroy_node()
    n = sim.steps
    assert spin_until(executor, lambda: sim.steps >= n + 10
                      and abs(sim.last_result.obs.state['v_forward']) < 0.02)
    assert sim.lockstep_timeouts >= 10 and sim.cmd_timeouts == 1


def test_full_loop_composed_with_the_pendulum_config():
    """Sim, joint_state adapter, SNN core and readout in one executor, wired by the YAML."""
    from pathlib import Path

    from snn_ros.nodes.composed import build_nodes, destroy_nodes

    yaml_path = Path(__file__).resolve().parent.parent / 'config' / 'sim_pendulum.yaml'
    rclpy.init(args=['--ros-args', '--params-file', str(yaml_path)])
    executor = SingleThreadedExecutor()
    nodes = []
    try:
        sim = SimNode(parameter_overrides=params(real_time_factor=100.0, lockstep=True),
                      cli_args=['--ros-args', '-r', '~/reward:=/snn_core/reward'])
        nodes = [sim] + build_nodes(['joint_state'], node_kwargs={'joint_state': {
            'cli_args': ['--ros-args', '-r', '~/joint_states:=/joint_states']}})
        for node in nodes:
            executor.add_node(node)
        core = next(n for n in nodes if n.get_name() == 'snn_core')
        assert spin_until(executor, lambda: sim.commands_received >= 20, timeout_s=60.0)
        # Lockstep from the first period: the sim waited for the graph, so nothing was lost.
        assert sim.lockstep_timeouts == 0
        # One 20-step decision window per sensor sample, 10 consolidation steps per reward.
        c = core.counts
        assert c['steps'] == 20 * c['windows'] + 10 * c['rewards'] and c['windows'] >= 20
        assert sim.steps - 2 <= c['rewards'] <= sim.steps and core.net.baseline.value != 0.0
        assert sim.sim_time_ns > 20 * 0.04e9 * 0.9
    finally:
        destroy_nodes(executor, nodes)
        rclpy.shutdown()
