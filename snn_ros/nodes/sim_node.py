"""MuJoCo simulation node: sensors, ``/clock`` and reward out, ``cmd_vel`` in."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
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
from snn_ros.sim.envs import make_env, Observation, StepResult

RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
NS_PER_S = 1_000_000_000


def _p(default: Any, description: str, lo: float | None = None, hi: float | None = None, *,
       read_only: bool = False, **extra: Any) -> Any:
    meta = {'description': description, 'min': lo, 'max': hi, 'read_only': read_only}
    meta.update(extra)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class SimNodeConfig:
    """Task, timing and safety settings of the simulation node."""

    task: str = _p('pendulum', "MuJoCo task: 'pendulum' (balance) or 'mobile' (drive without "
                   'collisions)', read_only=True, choices=('pendulum', 'mobile'))
    seed: int = _p(0, 'seed of the first episode (episode i starts from seed + i)', 0,
                   1 << 31, read_only=True)
    control_period_s: float = _p(0.0, 'sensor publication and command period in simulated '
                                 'seconds (0 = the task default: 0.04 pendulum, 0.1 mobile)',
                                 0.0, 10.0, read_only=True)
    max_steps: int = _p(0, 'control periods per episode before a reset (0 = task default)',
                        0, 1 << 30, read_only=True)
    clock_period_s: float = _p(0.01, '/clock publication period in simulated seconds (the '
                               'timer step; rounded to whole physics steps and at most one '
                               'control period)', 0.0005, 10.0, read_only=True)
    real_time_factor: float = _p(1.0, 'simulated seconds per wall second (e.g. 5 = five times '
                                 'faster than real time)', 0.01, 1000.0)
    lockstep: bool = _p(False, 'after publishing the sensors of a control period, wait for a '
                        'cmd_vel (at most lockstep_timeout_s wall time) before simulating the '
                        'next one: the fastest closed loop that never outruns its controller')
    lockstep_timeout_s: float = _p(1.0, 'lockstep: longest wall-time wait for a command', 0.001,
                                   3600.0)
    cmd_timeout_s: float = _p(0.5, 'zero the command when no cmd_vel arrived for this long '
                              '(simulated seconds): a second safety layer behind the readout '
                              "node's watchdog", 0.0, 3600.0)
    auto_reset: bool = _p(True, 'start the next episode when one ends (else hold the last '
                          'state and keep publishing)')
    publish_clock: bool = _p(True, 'publish /clock (the simulation is the time source of '
                             'nodes with use_sim_time)', read_only=True)
    camera: bool = _p(False, 'publish a ray-cast depth image on camera/image_raw (mobile '
                      'task; mono8, near = bright)', read_only=True)
    n_beams: int = _p(36, 'laser beams over 360 degrees (mobile task)', 4, 4096,
                      read_only=True)
    frame_id: str = _p('base_link', 'frame of joint states', read_only=True)
    imu_frame_id: str = _p('imu_link', 'frame of the IMU', read_only=True)
    laser_frame_id: str = _p('laser', 'frame of the laser scan', read_only=True)
    camera_frame_id: str = _p('camera', 'frame of the depth image', read_only=True)

    def __post_init__(self) -> None:
        """Check the task name."""
        if self.task not in ('pendulum', 'mobile'):
            raise ValueError(f"task: {self.task!r} is not one of ['pendulum', 'mobile']")


class SimNode(Node):
    """Step a MuJoCo task on a wall-clock timer and publish what a robot's drivers would.

    Each timer tick advances the physics by ``clock_period_s`` and publishes ``/clock``; the
    command is sampled at the start of each control period and sensors and reward are
    published at its end, stamped with the simulated time (continuous across episodes).

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
        env_kwargs: dict[str, Any] = {'camera': cfg.camera}
        if cfg.control_period_s > 0:
            env_kwargs['control_dt_s'] = cfg.control_period_s
        if cfg.max_steps > 0:
            env_kwargs['max_steps'] = cfg.max_steps
        if cfg.task == 'mobile':
            env_kwargs['n_beams'] = cfg.n_beams
        self.env = make_env(cfg.task, **env_kwargs)
        self.episode = 0
        self.episode_return = 0.0
        self.returns: list[float] = []
        self.sim_time_ns = 0
        self._episode_t0_ns = 0
        self._cmd = (0.0, 0.0)
        self._cmd_time_ns: int | None = None
        self.commands_received = 0
        self.cmd_timeouts = 0
        self.steps = 0
        self.last_result: StepResult | None = None
        self.publish_wall_ns: dict[int, int] = {}
        self.command_wall_ns: deque[int] = deque(maxlen=10000)
        self.lockstep_timeouts = 0
        self._wait_since_ns: int | None = None
        self._commands_at_publish = 0
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
        self._substeps_left = 0
        self._obs = self._reset()
        self._timer = self.create_timer(self._period_s(), self.tick)

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
    def _reset(self) -> Observation:
        cfg = self.params.config
        obs = self.env.reset(cfg.seed + self.episode)
        self._episode_t0_ns = self.sim_time_ns
        self.episode_return = 0.0
        self._episode_pub.publish(Int32(data=self.episode))
        self._publish_sensors(obs)
        return obs

    def _waiting(self) -> bool:
        """Return True while lockstep waits for the command of the last published sensors."""
        cfg = self.params.config
        if not cfg.lockstep or self._wait_since_ns is None:
            return False
        if self.commands_received > self._commands_at_publish:
            self._wait_since_ns = None
            return False
        if time.monotonic_ns() - self._wait_since_ns > cfg.lockstep_timeout_s * NS_PER_S:
            self.lockstep_timeouts += 1
            self._wait_since_ns = None
            return False
        return True

    def tick(self) -> None:
        """Advance the physics one clock period; at the end of a control period publish."""
        if self._waiting():
            return
        if self._substeps_left == 0:
            self.env.begin(self.command())
            self._substeps_left = self.env.n_substeps
        n = min(self.substeps_per_tick, self._substeps_left)
        self.env.advance(n)
        self._substeps_left -= n
        self.sim_time_ns = self._episode_t0_ns + int(round(self.env.data.time * NS_PER_S))
        if self._substeps_left > 0:
            self._publish_clock()
            return
        res = self.env.end()
        self.steps += 1
        self.last_result = res
        self._obs = res.obs
        self._publish_sensors(res.obs)
        self._reward_pub.publish(Float32(data=float(res.reward)))
        self.episode_return += res.reward
        if res.done and self.params.config.auto_reset:
            self.returns.append(self.episode_return)
            self._return_pub.publish(Float32(data=float(self.episode_return)))
            self.get_logger().info(f'episode {self.episode} return {self.episode_return:.2f} '
                                   f'after {self.env.steps} periods')
            self.episode += 1
            self.sim_time_ns += int(self.env.control_dt_s * NS_PER_S)
            self._obs = self._reset()

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
        self._commands_at_publish = self.commands_received
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


def main(args: Any = None) -> None:
    """Run the node (``ros2 run snn_ros sim_node``)."""
    run(SimNode, args)


if __name__ == '__main__':
    main()
