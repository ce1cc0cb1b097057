"""The simulation node's episodes and clock without ROS: one implementation for node and tests.

:class:`SimSession` owns the MuJoCo task of :class:`SimNodeConfig` and its bookkeeping: the
episode index and seeds (episode ``i`` starts from ``seed + i``), the returns, and the
simulated time that stamps the sensors (continuous across episodes; a reset takes one control
period). ``snn_ros.nodes.sim_node.SimNode`` publishes what it produces; the ROS-free closed loop
(:mod:`snn_ros.sim.closed_loop`) steps the very same session, so both see the same episodes
and stamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from snn_ros.core.params import param_field as _p
from snn_ros.sim.envs import Env, make_env, Observation, StepResult

NS_PER_S = 1_000_000_000


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
                        'next one: the fastest closed loop that never outruns its controller '
                        '(the n-th command answers the n-th sensor set, also after a timeout); '
                        'the first episode starts once the sensors (lockstep_topics) and the '
                        'reward have subscribers and cmd_vel a publisher')
    lockstep_timeout_s: float = _p(1.0, 'lockstep: longest wall-time wait for a command', 0.001,
                                   3600.0)
    lockstep_settle_s: float = _p(0.5, 'lockstep: wall time the graph must have been ready '
                                  '(lockstep_topics) before the first episode starts, so that '
                                  'every node has discovered its peers', 0.0, 60.0,
                                  read_only=True)
    lockstep_topics: tuple[str, ...] = _p((), "lockstep: the sensor topics ('joint_states', "
                                          "'imu', 'scan', 'camera/image_raw') that must have "
                                          'subscribers before the first episode starts (empty: '
                                          'any one)', read_only=True, item_type=str)
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


def make_sim_env(cfg: SimNodeConfig) -> Env:
    """Return the MuJoCo task ``cfg`` describes (period, episode length, beams, camera)."""
    kwargs: dict[str, Any] = {'camera': cfg.camera}
    if cfg.control_period_s > 0:
        kwargs['control_dt_s'] = cfg.control_period_s
    if cfg.max_steps > 0:
        kwargs['max_steps'] = cfg.max_steps
    if cfg.task == 'mobile':
        kwargs['n_beams'] = cfg.n_beams
    return make_env(cfg.task, **kwargs)


class SimSession:
    """Episodes of one task: reset, command, physics sub-steps, reward and the stamps.

    A control period is :meth:`begin` (the command), :meth:`advance` (physics sub-steps, in
    as many calls as the caller likes) and :meth:`end` (observation, reward, return); or
    :meth:`period` for all three. After an episode ends, :meth:`next_episode` resets.
    """

    def __init__(self, cfg: SimNodeConfig) -> None:
        self.cfg = cfg
        self.env = make_sim_env(cfg)
        self.episode = 0
        self.episode_return = 0.0
        self.returns: list[float] = []
        self.sim_time_ns = 0
        self.steps = 0
        self.substeps_left = 0
        self.last_result: StepResult | None = None
        self._episode_t0_ns = 0

    def reset(self) -> Observation:
        """Start episode ``self.episode`` (seed ``cfg.seed + episode``) at the current time."""
        obs = self.env.reset(self.cfg.seed + self.episode)
        self._episode_t0_ns = self.sim_time_ns
        self.episode_return = 0.0
        self.substeps_left = 0
        return obs

    def begin(self, command: tuple[float, float]) -> None:
        """Start a control period under ``command`` (``linear_x``, ``angular_z``)."""
        self.env.begin(command)
        self.substeps_left = self.env.n_substeps

    def advance(self, n_substeps: int) -> bool:
        """Run up to ``n_substeps`` physics steps; return True when the period is complete."""
        n = min(int(n_substeps), self.substeps_left)
        self.env.advance(n)
        self.substeps_left -= n
        self.sim_time_ns = self._episode_t0_ns + int(round(self.env.data.time * NS_PER_S))
        return self.substeps_left == 0

    def end(self) -> StepResult:
        """Finish the period: observation, reward (added to the episode's return), flags."""
        res = self.env.end()
        self.steps += 1
        self.last_result = res
        self.episode_return += res.reward
        return res

    def period(self, command: tuple[float, float]) -> StepResult:
        """Run one whole control period under ``command``."""
        self.begin(command)
        self.advance(self.env.n_substeps)
        return self.end()

    def next_episode(self) -> Observation:
        """Record the finished episode's return and reset one control period later."""
        self.returns.append(self.episode_return)
        self.episode += 1
        self.sim_time_ns += int(self.env.control_dt_s * NS_PER_S)
        return self.reset()
