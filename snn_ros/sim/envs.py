"""MuJoCo tasks for closed-loop control: an inverted pendulum and a differential-drive robot.

Both environments share one shape (ROS-free, numpy + mujoco only):

* ``reset(seed)`` returns an :class:`Observation`;
* ``step(action)`` applies a discrete action (a class index of :attr:`Env.action_table`) or a
  continuous ``(linear_x, angular_z)`` command for one control period and returns a
  :class:`StepResult` with the reward and the termination flags;
* observations carry what a robot's drivers would publish: joint states, an IMU (accelerometer,
  gyro, orientation from MuJoCo sensors), a planar laser scan ray cast with ``mj_multiRay``
  (mobile robot) and, on request, a ray-cast depth image (no OpenGL needed).

Rewards (per control period, documented in the README):

* ``pendulum``: ``r = 1 + 2 clip(|s_t| - |s_t+1|, -0.5, 0.5)`` with the sliding variable
  ``s = theta_dot + 2 theta``: one per period balanced, plus a bonus for steering toward the
  upright equilibrium (``s = 0``) and a malus for steering away; ``r = 0`` and the episode ends
  when ``|theta| > fail_angle_rad``. The return is about the number of periods balanced.
* ``mobile``: ``r = (v_forward / v_max) (1 - 2 p_t+1) - 3 (p_t+1 - p_t)`` with the front
  proximity ``p = max(0, 1 - d_front / safe_distance_m)`` (``d_front``: nearest laser range
  within 35 degrees of the heading): forward speed, worth less (then negative) near an
  obstacle, minus a malus for closing in on it and plus a bonus for turning away; a collision
  gives ``r = -5`` and ends the episode. The return is about the distance driven in open space,
  in units of ``v_max`` times the control period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
from pathlib import Path
from typing import Any

import mujoco
import numpy as np

MODELS = Path(__file__).resolve().parent / 'models'


@dataclass
class Observation:
    """Sensor readings after a control period (SI units, ROS conventions)."""

    time_s: float
    joint_names: list[str]
    joint_pos: np.ndarray
    joint_vel: np.ndarray
    joint_effort: np.ndarray
    accel: np.ndarray
    gyro: np.ndarray
    orientation_xyzw: np.ndarray
    scan_ranges: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    scan_angle_min: float = 0.0
    scan_angle_increment: float = 0.0
    scan_range_min: float = 0.0
    scan_range_max: float = 0.0
    image: np.ndarray | None = None
    state: dict[str, float] = field(default_factory=dict)


@dataclass
class StepResult:
    """What one control period produced."""

    obs: Observation
    reward: float
    terminated: bool
    truncated: bool
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        """Return True when the episode is over (terminated or truncated)."""
        return self.terminated or self.truncated


class Env:
    """Base class: a MuJoCo model stepped in control periods of ``control_dt_s``."""

    name = 'env'
    model_file = ''
    action_names: tuple[str, ...] = ()
    #: class index -> (linear_x m/s, angular_z rad/s), the readout node's command table
    action_table: tuple[tuple[float, float], ...] = ()

    def __init__(self, control_dt_s: float, max_steps: int, camera: bool = False) -> None:
        self.model = mujoco.MjModel.from_xml_path(str(MODELS / self.model_file))
        self.data = mujoco.MjData(self.model)
        self.physics_dt_s = float(self.model.opt.timestep)
        self.n_substeps = max(1, int(round(control_dt_s / self.physics_dt_s)))
        self.control_dt_s = self.n_substeps * self.physics_dt_s
        self.max_steps = int(max_steps)
        self.camera = bool(camera)
        self.rng = np.random.default_rng(0)
        self.steps = 0
        self.episode = 0
        self.command = (0.0, 0.0)
        self._collided_in_period = False
        self._substeps_done = 0
        self._sensor = {mujoco.mj_id2name(self.model, mujoco.mjtObj.mjOBJ_SENSOR, i):
                        slice(int(self.model.sensor_adr[i]),
                              int(self.model.sensor_adr[i] + self.model.sensor_dim[i]))
                        for i in range(self.model.nsensor)}

    @property
    def n_actions(self) -> int:
        """Return the number of discrete actions (readout classes)."""
        return len(self.action_table)

    def sensor(self, name: str) -> np.ndarray:
        """Return a copy of one named MuJoCo sensor's reading."""
        return self.data.sensordata[self._sensor[name]].copy()

    def reset(self, seed: int | None = None) -> Observation:
        """Start a new episode from a random initial state drawn from ``seed``."""
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        mujoco.mj_resetData(self.model, self.data)
        self._init_state()
        mujoco.mj_forward(self.model, self.data)
        self.steps = 0
        self.episode += 1
        self.command = (0.0, 0.0)
        self._on_reset()
        return self.observe()

    def command_of(self, action: Any) -> tuple[float, float]:
        """Return the ``(linear_x, angular_z)`` command of a class index or a command pair."""
        if isinstance(action, (int, np.integer)):
            if not 0 <= int(action) < self.n_actions:
                raise ValueError(f'action {action} outside [0, {self.n_actions})')
            return self.action_table[int(action)]
        lin, ang = (float(v) for v in action)
        return lin, ang

    def step(self, action: Any) -> StepResult:
        """Apply ``action`` for one control period and return observation and reward."""
        self.begin(action)
        self.advance(self.n_substeps)
        return self.end()

    def begin(self, action: Any) -> None:
        """Start a control period with ``action`` (then :meth:`advance`, then :meth:`end`)."""
        self.command = self.command_of(action)
        self._apply(*self.command)
        self._collided_in_period = False
        self._substeps_done = 0

    def advance(self, n_substeps: int) -> None:
        """Step the physics ``n_substeps`` times inside the current control period."""
        for _ in range(int(n_substeps)):
            mujoco.mj_step(self.model, self.data)
            self._collided_in_period = self._collided_in_period or self._collided()
        self._substeps_done += int(n_substeps)

    def end(self) -> StepResult:
        """Finish the control period: observe, score and check for the episode's end."""
        self.steps += 1
        obs = self.observe()
        reward, terminated, info = self._reward(obs, self._collided_in_period)
        truncated = not terminated and self.steps >= self.max_steps
        return StepResult(obs, float(reward), bool(terminated), bool(truncated), info)

    def observe(self) -> Observation:
        """Return the current sensor readings."""
        quat = self.sensor('imu_quat')
        obs = Observation(
            time_s=float(self.data.time), joint_names=list(self.joint_names),
            joint_pos=np.array([self.sensor(f'{j}_pos')[0] for j in self.joint_names]),
            joint_vel=np.array([self.sensor(f'{j}_vel')[0] for j in self.joint_names]),
            joint_effort=np.array([self.sensor(f'{j}_effort')[0] for j in self.joint_names]),
            accel=self.sensor('imu_accel'), gyro=self.sensor('imu_gyro'),
            orientation_xyzw=np.array([quat[1], quat[2], quat[3], quat[0]]))
        self._observe_extra(obs)
        return obs

    # Subclass hooks.
    joint_names: tuple[str, ...] = ()

    def _init_state(self) -> None:
        raise NotImplementedError

    def _on_reset(self) -> None:
        pass

    def _apply(self, linear_x: float, angular_z: float) -> None:
        raise NotImplementedError

    def _collided(self) -> bool:
        return False

    def _observe_extra(self, obs: Observation) -> None:
        pass

    def _reward(self, obs: Observation, collided: bool) -> tuple[float, bool, dict]:
        raise NotImplementedError


class PendulumEnv(Env):
    """Balance a torque-limited inverted pendulum (``theta = 0`` is upright).

    Commands: ``angular_z`` in [-1, 1] is the normalised motor torque (1 = 3 N m);
    ``linear_x`` is ignored. Discrete actions push negative, hold, push positive.
    """

    name = 'pendulum'
    model_file = 'pendulum.xml'
    joint_names = ('hinge',)
    action_names = ('push_negative', 'hold', 'push_positive')
    action_table = ((0.0, -1.0), (0.0, 0.0), (0.0, 1.0))

    def __init__(self, control_dt_s: float = 0.04, max_steps: int = 200,
                 init_angle_rad: float = 0.3, init_rate_rad_s: float = 0.5,
                 fail_angle_rad: float = 1.0, camera: bool = False) -> None:
        super().__init__(control_dt_s, max_steps, camera)
        self.init_angle_rad = float(init_angle_rad)
        self.init_rate_rad_s = float(init_rate_rad_s)
        self.fail_angle_rad = float(fail_angle_rad)

    def _init_state(self) -> None:
        self.data.qpos[0] = self.rng.uniform(-self.init_angle_rad, self.init_angle_rad)
        self.data.qvel[0] = self.rng.uniform(-self.init_rate_rad_s, self.init_rate_rad_s)

    def _apply(self, linear_x: float, angular_z: float) -> None:
        self.data.ctrl[0] = float(np.clip(angular_z, -1.0, 1.0))

    def _observe_extra(self, obs: Observation) -> None:
        theta = math.remainder(float(self.data.qpos[0]), 2 * math.pi)
        obs.state = {'theta': theta, 'theta_dot': float(self.data.qvel[0])}

    def _on_reset(self) -> None:
        self._s = self._sliding()

    def _sliding(self) -> float:
        theta = math.remainder(float(self.data.qpos[0]), 2 * math.pi)
        return float(self.data.qvel[0]) + 2.0 * theta

    def _reward(self, obs: Observation, collided: bool) -> tuple[float, bool, dict]:
        fallen = abs(obs.state['theta']) > self.fail_angle_rad
        s_prev, self._s = self._s, self._sliding()
        reward = 0.0 if fallen else 1.0 + 2.0 * min(0.5, max(-0.5, abs(s_prev) - abs(self._s)))
        return reward, fallen, {'fallen': fallen}


class MobileEnv(Env):
    """Drive a differential-drive robot forward without hitting walls or obstacles.

    Commands are ``cmd_vel``: ``linear_x`` m/s and ``angular_z`` rad/s, turned into wheel speeds.
    Discrete actions: turn left (slowly forward), forward, turn right.
    """

    name = 'mobile'
    model_file = 'mobile.xml'
    joint_names = ('wheel_left', 'wheel_right')
    action_names = ('left', 'forward', 'right')
    action_table = ((0.05, 2.5), (0.3, 0.0), (0.05, -2.5))
    wheel_radius_m = 0.04
    wheel_separation_m = 0.28
    v_max = 0.3

    def __init__(self, control_dt_s: float = 0.1, max_steps: int = 150, n_beams: int = 36,
                 range_max_m: float = 6.0, safe_distance_m: float = 0.6,
                 camera: bool = False, image_size: tuple[int, int] = (32, 24)) -> None:
        super().__init__(control_dt_s, max_steps, camera)
        self.n_beams = int(n_beams)
        self.range_max_m = float(range_max_m)
        self.safe_distance_m = float(safe_distance_m)
        self.image_size = (int(image_size[0]), int(image_size[1]))
        m = self.model
        self._base = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, 'base')
        self._lidar = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, 'lidar')
        self._robot_geoms = {i for i in range(m.ngeom)
                             if m.body_rootid[m.geom_bodyid[i]] == self._base}
        self._solid = {i for i in range(m.ngeom) if m.geom_group[i] == 1}
        self._robot_mask = np.isin(np.arange(m.ngeom), list(self._robot_geoms))
        self._solid_mask = np.isin(np.arange(m.ngeom), list(self._solid))
        self.scan_angles = -math.pi + np.arange(self.n_beams) * (2 * math.pi / self.n_beams)
        self._groups = np.array([0, 1, 0, 0, 0, 0], np.uint8)
        self._geomid = np.zeros(self.n_beams, np.int32)
        self._dist = np.zeros(self.n_beams)
        self.front = np.abs(self.scan_angles) <= math.radians(35) + 1e-9
        self.odometer_m = 0.0

    def _init_state(self) -> None:
        # A random free pose: at least 0.45 m from every wall and obstacle centre region.
        for _ in range(1000):
            x, y = self.rng.uniform(-1.6, 1.6, 2)
            self.data.qpos[0:3] = (x, y, 0.06)
            yaw = self.rng.uniform(-math.pi, math.pi)
            self.data.qpos[3:7] = (math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2))
            mujoco.mj_forward(self.model, self.data)
            if self.scan().min() > 0.45:
                for _ in range(40):  # settle on the wheels and casters, then start the clock
                    mujoco.mj_step(self.model, self.data)
                self.data.time = 0.0
                return
        raise RuntimeError('no free start pose found')

    def _on_reset(self) -> None:
        self.odometer_m = 0.0
        self._proximity = self.proximity(float(self.scan()[self.front].min()))

    def _apply(self, linear_x: float, angular_z: float) -> None:
        half = 0.5 * self.wheel_separation_m * angular_z
        self.data.ctrl[0] = (linear_x - half) / self.wheel_radius_m
        self.data.ctrl[1] = (linear_x + half) / self.wheel_radius_m

    def _collided(self) -> bool:
        if self.data.ncon == 0:
            return False
        g1, g2 = self.data.contact.geom1, self.data.contact.geom2
        robot, solid = self._robot_mask, self._solid_mask
        return bool(np.any((robot[g1] & solid[g2]) | (robot[g2] & solid[g1])))

    def pose(self) -> tuple[float, float, float]:
        """Return the ground-truth ``(x, y, yaw)`` of the robot base."""
        mat = self.data.xmat[self._base]
        return (float(self.data.qpos[0]), float(self.data.qpos[1]),
                math.atan2(float(mat[3]), float(mat[0])))

    def _rays(self, directions: np.ndarray) -> np.ndarray:
        n = len(directions)
        geomid = np.zeros(n, np.int32)
        dist = np.zeros(n)
        mujoco.mj_multiRay(self.model, self.data, self.data.site_xpos[self._lidar].copy(),
                           directions.reshape(-1).astype(np.float64), self._groups, 1,
                           self._base, geomid, dist, n, self.range_max_m)
        dist[(geomid < 0) | (dist < 0)] = self.range_max_m
        return np.minimum(dist, self.range_max_m)

    def scan(self) -> np.ndarray:
        """Return the planar laser ranges (m), beams counter-clockwise from -pi."""
        _, _, yaw = self.pose()
        a = yaw + self.scan_angles
        dirs = np.stack([np.cos(a), np.sin(a), np.zeros_like(a)], axis=1)
        return self._rays(dirs).astype(np.float32)

    def depth_image(self) -> np.ndarray:
        """Return a forward ray-cast depth image as mono8 (near = bright), height x width."""
        w, h = self.image_size
        _, _, yaw = self.pose()
        az = yaw + np.linspace(math.radians(45), math.radians(-45), w)
        el = np.linspace(math.radians(10), math.radians(-25), h)
        A, E = np.meshgrid(az, el)
        dirs = np.stack([np.cos(A) * np.cos(E), np.sin(A) * np.cos(E), np.sin(E)], axis=-1)
        groups = self._groups
        self._groups = np.array([0, 1, 1, 0, 0, 0], np.uint8)  # walls, obstacles and floor
        try:
            d = self._rays(dirs.reshape(-1, 3)).reshape(h, w)
        finally:
            self._groups = groups
        return (255 * (1.0 - np.clip(d / self.range_max_m, 0, 1))).astype(np.uint8)

    def _observe_extra(self, obs: Observation) -> None:
        obs.scan_ranges = self.scan()
        obs.scan_angle_min = float(self.scan_angles[0])
        obs.scan_angle_increment = 2 * math.pi / self.n_beams
        obs.scan_range_min = 0.05
        obs.scan_range_max = self.range_max_m
        if self.camera:
            obs.image = self.depth_image()
        x, y, yaw = self.pose()
        v = self.data.qvel[0:2]
        forward = float(v[0] * math.cos(yaw) + v[1] * math.sin(yaw))
        obs.state = {'x': x, 'y': y, 'yaw': yaw, 'v_forward': forward,
                     'd_front': float(obs.scan_ranges[self.front].min())}

    def _reward(self, obs: Observation, collided: bool) -> tuple[float, bool, dict]:
        if collided:
            return -5.0, True, {'collision': True}
        self.odometer_m += max(0.0, obs.state['v_forward']) * self.control_dt_s
        p_prev, self._proximity = self._proximity, self.proximity(obs.state['d_front'])
        speed = float(np.clip(obs.state['v_forward'] / self.v_max, -1, 1))
        reward = speed * (1.0 - 2.0 * self._proximity) - 3.0 * (self._proximity - p_prev)
        return reward, False, {'collision': False, 'odometer_m': self.odometer_m}

    def proximity(self, d_front: float) -> float:
        """Return the front proximity ``max(0, 1 - d_front / safe_distance_m)``."""
        return max(0.0, 1.0 - d_front / self.safe_distance_m)


TASKS = {'pendulum': PendulumEnv, 'mobile': MobileEnv}


def make_env(task: str, **kwargs: Any) -> Env:
    """Return a new environment for ``task`` (``pendulum`` or ``mobile``).

    Raises:
        ValueError: unknown task (the message lists the valid ones).
    """
    if task not in TASKS:
        raise ValueError(f'task {task!r} is not one of {sorted(TASKS)}')
    return TASKS[task](**kwargs)
