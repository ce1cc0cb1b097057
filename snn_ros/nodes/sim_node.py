"""MuJoCo simulation node: sensors, ``/clock`` and reward out, ``cmd_vel`` in."""

from __future__ import annotations

from collections import deque
import time
from typing import Any

from geometry_msgs.msg import Twist
import numpy as np
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data, QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image, Imu, JointState, LaserScan
from std_msgs.msg import Float32, Int32

from snn_ros.nodes.common import run
from snn_ros.nodes.convert import ns_to_stamp
from snn_ros.nodes.params import ParameterBinding
from snn_ros.sim.envs import Observation, StepResult
from snn_ros.sim.session import SimNodeConfig, SimSession

RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
NS_PER_S = 1_000_000_000
__all__ = ['main', 'SimNode', 'SimNodeConfig']


class SimNode(Node):
    """Step a MuJoCo task on a wall-clock timer and publish what a robot's drivers would.

    Each timer tick advances the physics by ``clock_period_s`` and publishes ``/clock``; the
    command is sampled at the start of each control period and the reward, then the sensors
    are published at its end, stamped with the simulated time (continuous across episodes;
    the episodes and stamps are :class:`snn_ros.sim.session.SimSession`'s). An episode's end
    publishes its reward and return, then the next episode's first sensors. With ``lockstep``
    the node waits for one command per published sensor set (the ROS graph then reproduces
    :class:`snn_ros.sim.closed_loop.GraphLoop` step for step).

    Publishes ``joint_states`` (``sensor_msgs/JointState``), ``imu`` (``sensor_msgs/Imu``),
    ``scan`` (``sensor_msgs/LaserScan``, mobile), ``camera/image_raw`` (``sensor_msgs/Image``,
    mobile with ``camera``) with sensor-data QoS and the simulated time as stamp; ``/clock``;
    ``~/reward`` (``std_msgs/Float32``, one per control period), ``~/episode``
    (``std_msgs/Int32``, the index of the episode that just started) and ``~/episode_return``
    (``std_msgs/Float32``, the return of the episode that just ended), reliable. Subscribes
    ``cmd_vel`` (``geometry_msgs/Twist``): ``linear.x`` m/s and ``angular.z`` rad/s for the
    mobile robot, ``angular.z`` in [-1, 1] as normalised torque for the pendulum.
    """

    def __init__(self, node_name: str = 'sim', **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.params = ParameterBinding(self, SimNodeConfig, on_change=self._on_params)
        cfg = self.params.config
        self.session = SimSession(cfg)
        self.env = self.session.env
        self._cmd = (0.0, 0.0)
        self._cmd_time_ns: int | None = None
        self.commands_received = 0
        self.cmd_timeouts = 0
        self.publish_wall_ns: dict[int, int] = {}
        self.command_wall_ns: deque[int] = deque(maxlen=10000)
        self.lockstep_timeouts = 0
        self._wait_since_ns: int | None = None
        self.sensor_sets = 0
        self._commands_at_start = 0
        self._started = False
        self._ready_since_ns: int | None = None
        self._joint_pub = self.create_publisher(JointState, 'joint_states',
                                                qos_profile_sensor_data)
        self._imu_pub = self.create_publisher(Imu, 'imu', qos_profile_sensor_data)
        self._scan_pub = (self.create_publisher(LaserScan, 'scan', qos_profile_sensor_data)
                          if cfg.task == 'mobile' else None)
        self._image_pub = (self.create_publisher(Image, 'camera/image_raw',
                                                 qos_profile_sensor_data)
                           if cfg.camera and cfg.task == 'mobile' else None)
        self._clock_pub = (self.create_publisher(Clock, '/clock', RELIABLE)
                           if cfg.publish_clock else None)
        self._reward_pub = self.create_publisher(Float32, '~/reward', RELIABLE)
        self._episode_pub = self.create_publisher(Int32, '~/episode', RELIABLE)
        self._return_pub = self.create_publisher(Float32, '~/episode_return', RELIABLE)
        self.create_subscription(Twist, 'cmd_vel', self._on_cmd_vel, RELIABLE)
        self.substeps_per_tick = max(1, min(self.env.n_substeps, int(round(
            cfg.clock_period_s / self.env.physics_dt_s))))
        self._obs: Observation | None = None
        if cfg.lockstep:
            self.get_logger().info('lockstep: waiting for sensor and reward subscribers and a '
                                   'cmd_vel publisher')
        else:
            self._start()
        self._timer = self.create_timer(self._period_s(), self.tick)

    # ------------------------------------------------------------------ session state
    @property
    def episode(self) -> int:
        """Return the index of the current episode."""
        return self.session.episode

    @property
    def returns(self) -> list[float]:
        """Return the returns of the finished episodes."""
        return self.session.returns

    @property
    def episode_return(self) -> float:
        """Return the current episode's return so far."""
        return self.session.episode_return

    @property
    def sim_time_ns(self) -> int:
        """Return the simulated time (continuous across episodes)."""
        return self.session.sim_time_ns

    @property
    def steps(self) -> int:
        """Return the control periods simulated."""
        return self.session.steps

    @property
    def last_result(self) -> StepResult | None:
        """Return the last control period's result."""
        return self.session.last_result

    # ------------------------------------------------------------------ parameters, commands
    def _period_s(self) -> float:
        sim_s = self.substeps_per_tick * self.env.physics_dt_s
        return sim_s / self.params.config.real_time_factor

    def _on_params(self, config: SimNodeConfig, names: list[str]) -> None:
        if 'real_time_factor' in names:
            self._timer.cancel()
            self.destroy_timer(self._timer)
            self._timer = self.create_timer(self._period_s(), self.tick)

    def _on_cmd_vel(self, msg: Twist) -> None:
        lin, ang = float(msg.linear.x), float(msg.angular.z)
        if not (np.isfinite(lin) and np.isfinite(ang)):
            self.get_logger().warning('ignoring a non-finite cmd_vel')
            return
        self._cmd = (lin, ang)
        self._cmd_time_ns = self.sim_time_ns
        self.commands_received += 1
        self.command_wall_ns.append(time.monotonic_ns())

    def command(self) -> tuple[float, float]:
        """Return the command to apply now: the last ``cmd_vel``, or zero when it is stale."""
        timeout_ns = int(self.params.config.cmd_timeout_s * NS_PER_S)
        if self._cmd_time_ns is None:
            return (0.0, 0.0)
        if timeout_ns > 0 and self.sim_time_ns - self._cmd_time_ns > timeout_ns:
            if self._cmd != (0.0, 0.0):
                self.cmd_timeouts += 1
                self.get_logger().warning('cmd_vel timed out: stopping')
                self._cmd = (0.0, 0.0)
            return (0.0, 0.0)
        return self._cmd

    # ------------------------------------------------------------------ stepping
    def _start(self) -> None:
        self._started = True
        self._commands_at_start = self.commands_received
        self._obs = self._reset(self.session.reset())

    def _reset(self, obs: Observation) -> Observation:
        self._episode_pub.publish(Int32(data=self.session.episode))
        self._publish_sensors(obs)
        return obs

    def graph_ready(self) -> bool:
        """Return True when the sensors and the reward have subscribers and cmd_vel a publisher.

        The sensors are ``lockstep_topics`` (all of them; empty: any sensor topic). Lockstep
        starts the first episode only then, so no sensor message is lost to a controller that
        is still starting (a controller that commands before it listens would drive the
        lockstep with its watchdog's zero commands).
        """
        pubs = {'joint_states': self._joint_pub, 'imu': self._imu_pub, 'scan': self._scan_pub,
                'camera/image_raw': self._image_pub}
        wanted = self.params.config.lockstep_topics
        listened = [p is not None and p.get_subscription_count() > 0
                    for p in (pubs.get(t) for t in wanted or pubs)]
        return ((all(listened) if wanted else any(listened))
                and self._reward_pub.get_subscription_count() > 0
                and self.count_publishers(self.resolve_topic_name('cmd_vel')) > 0)

    def _waiting(self) -> bool:
        """Return True while lockstep waits for the command of the last published sensors."""
        cfg = self.params.config
        if not cfg.lockstep or self._wait_since_ns is None:
            return False
        # The n-th command answers the n-th sensor set: a late answer after a timeout is
        # matched to its own sensors, never taken for the next period's.
        if self.commands_received - self._commands_at_start >= self.sensor_sets:
            self._wait_since_ns = None
            return False
        if time.monotonic_ns() - self._wait_since_ns > cfg.lockstep_timeout_s * NS_PER_S:
            self.lockstep_timeouts += 1
            self._wait_since_ns = None
            return False
        return True

    def tick(self) -> None:
        """Advance the physics one clock period; at the end of a control period publish.

        At the end of a period the reward goes out first, then the sensors: a controller
        that learns from the reward has it before it acts on the next sensors. When the
        episode ends (and ``auto_reset``), the sensors are those of the next episode's start.
        """
        if not self._started:
            if not self.graph_ready():
                self._ready_since_ns = None
            elif self._ready_since_ns is None:
                self._ready_since_ns = time.monotonic_ns()
            elif (time.monotonic_ns() - self._ready_since_ns
                  >= self.params.config.lockstep_settle_s * NS_PER_S):
                self._start()
            return
        if self._waiting():
            return
        session = self.session
        if session.substeps_left == 0:
            session.begin(self.command())
        if not session.advance(self.substeps_per_tick):
            self._publish_clock()
            return
        res = session.end()
        self._obs = res.obs
        self._reward_pub.publish(Float32(data=float(res.reward)))
        if res.done and self.params.config.auto_reset:
            ret = session.episode_return
            self._return_pub.publish(Float32(data=float(ret)))
            self.get_logger().info(f'episode {session.episode} return {ret:.2f} after '
                                   f'{self.env.steps} periods')
            self._obs = self._reset(session.next_episode())
        else:
            self._publish_sensors(res.obs)

    def _publish_clock(self) -> None:
        if self._clock_pub is not None:
            clock = Clock()
            ns_to_stamp(self.sim_time_ns, clock.clock)
            self._clock_pub.publish(clock)

    def _publish_sensors(self, obs: Observation) -> None:
        cfg = self.params.config
        t = self.sim_time_ns
        js = JointState()
        ns_to_stamp(t, js.header.stamp)
        js.header.frame_id = cfg.frame_id
        js.name = list(obs.joint_names)
        js.position = obs.joint_pos.tolist()
        js.velocity = obs.joint_vel.tolist()
        js.effort = obs.joint_effort.tolist()
        imu = Imu()
        ns_to_stamp(t, imu.header.stamp)
        imu.header.frame_id = cfg.imu_frame_id
        q = obs.orientation_xyzw
        imu.orientation.x, imu.orientation.y = float(q[0]), float(q[1])
        imu.orientation.z, imu.orientation.w = float(q[2]), float(q[3])
        imu.angular_velocity.x, imu.angular_velocity.y, imu.angular_velocity.z = (
            float(v) for v in obs.gyro)
        imu.linear_acceleration.x, imu.linear_acceleration.y, imu.linear_acceleration.z = (
            float(v) for v in obs.accel)
        self.publish_wall_ns[t] = time.monotonic_ns()
        if len(self.publish_wall_ns) > 10000:
            self.publish_wall_ns.pop(next(iter(self.publish_wall_ns)))
        self._wait_since_ns = time.monotonic_ns()
        self.sensor_sets += 1
        self._joint_pub.publish(js)
        self._imu_pub.publish(imu)
        if self._scan_pub is not None:
            scan = LaserScan()
            ns_to_stamp(t, scan.header.stamp)
            scan.header.frame_id = cfg.laser_frame_id
            n = obs.scan_ranges.size
            scan.angle_min = float(obs.scan_angle_min)
            scan.angle_increment = float(obs.scan_angle_increment)
            scan.angle_max = float(obs.scan_angle_min + obs.scan_angle_increment * (n - 1))
            scan.scan_time = float(self.env.control_dt_s)
            scan.range_min = float(obs.scan_range_min)
            scan.range_max = float(obs.scan_range_max)
            scan.ranges = obs.scan_ranges.astype(np.float32).tolist()
            self._scan_pub.publish(scan)
        if self._image_pub is not None and obs.image is not None:
            img = Image()
            ns_to_stamp(t, img.header.stamp)
            img.header.frame_id = cfg.camera_frame_id
            img.height, img.width = (int(v) for v in obs.image.shape)
            img.encoding = 'mono8'
            img.step = img.width
            img.data = obs.image.tobytes()
            self._image_pub.publish(img)
        # The clock last: nodes on sim time see this period's sensors before its time.
        self._publish_clock()


#: adapter node -> (its private input topic, the sim node's topic remapped onto it)
SIM_TOPICS = {'joint_state': ('~/joint_states', '/joint_states'), 'imu': ('~/imu', '/imu'),
              'laser_scan': ('~/scan', '/scan')}


def build_sim_graph(adapters: list[str], overrides: dict[str, dict[str, Any]] | None = None
                    ) -> list[Node]:
    """Create the sim launch files' graph as composed nodes: sim, adapters, core, readout.

    Wired like ``launch/sim_*.launch.py``: the sim's ``~/reward`` onto ``/snn_core/reward``,
    each adapter's input onto the sim's sensor topic; parameters come from the params file
    given to ``rclpy.init`` (``--ros-args --params-file config/sim_<task>.yaml``), with
    ``overrides`` (``{node name: {parameter: value}}``) on top. Returns the nodes in the order
    an executor should take them: sim, core, readout, adapters (a reward and the next sensor
    message ready in the same wait are then handled reward first, even when the adapters
    hand their spikes to the core by direct call).
    """
    from rclpy.parameter import Parameter

    from snn_ros.nodes.composed import build_nodes

    over = overrides or {}

    def params(name: str) -> list[Parameter]:
        return [Parameter(k, value=v) for k, v in over.get(name, {}).items()]
    sim = SimNode(parameter_overrides=params('sim'),
                  cli_args=['--ros-args', '-r', '~/reward:=/snn_core/reward'])
    kwargs: dict[str, dict[str, Any]] = {
        a: {'cli_args': ['--ros-args', '-r', '{}:={}'.format(*SIM_TOPICS[a])],
            'parameter_overrides': params(a)} for a in adapters}
    for name in ('snn_core', 'readout'):
        kwargs[name] = {'parameter_overrides': params(name)}
    graph = build_nodes(adapters, node_kwargs=kwargs)
    return [sim] + graph[len(adapters):] + graph[:len(adapters)]


def main(args: Any = None) -> None:
    """Run the node (``ros2 run snn_ros sim_node``)."""
    run(SimNode, args)


if __name__ == '__main__':
    main()
