"""ROS-free closed loop: a MuJoCo task, the sensor adapters and the spiking network.

Per control period the loop does what the ROS graph does (sim node -> adapter nodes -> SNN
core node -> readout node -> ``cmd_vel`` -> sim node, and sim node -> ``~/reward`` -> SNN core):

1. the observation becomes duck-typed ``sensor_msgs`` messages, encoded by the project's
   adapters (:mod:`snn_ros.adapters`) into input spikes held for a decision window of
   ``window_steps`` network steps, plus a few Poisson "noise" channels for exploration;
2. the network runs the window; its readout decision (argmax of the class spike counts) is the
   discrete action (``Env.action_table``: class -> command); a window without any readout
   spike decides class -1 (no decision) and the agent takes ``LoopConfig.silent_action``
   (class 0 by default, credited by the reward; -1 commands zero velocity as the readout
   node does, :data:`NO_ACTION`, and credits no class);
3. the environment advances one control period and returns the reward;
4. ``Network.reward(r)`` turns ``r`` minus the running baseline into the third factor for the
   chosen class (and, through the modulatory populations, for the hidden layer); the
   eligibility of that window is consolidated over ``credit_steps`` input-free steps, then the
   modulation is cleared. No gradient is computed anywhere: learning is the network's own
   local three-factor rule driven by the reward alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import time
from types import SimpleNamespace
from typing import Any

import numpy as np

from snn_ros.adapters.imu import ImuAdapter, ImuConfig
from snn_ros.adapters.joint_state import JointStateAdapter, JointStateConfig
from snn_ros.adapters.laser_scan import LaserScanAdapter, LaserScanConfig
from snn_ros.adapters.encoders import PopulationConfig
from snn_ros.core.config import NetworkConfig
from snn_ros.core.network import Network
from snn_ros.sim.envs import Env, make_env, Observation
from snn_ros.sim.policies import hand_policy, random_policy, run_episode

NS_PER_S = 1_000_000_000
#: the action of a silent readout window (class -1): zero ``(linear_x, angular_z)``, as the
#: readout node commands for a -1 decision
NO_ACTION = (0.0, 0.0)


def _header(t_ns: int, frame_id: str) -> SimpleNamespace:
    return SimpleNamespace(stamp=SimpleNamespace(sec=t_ns // NS_PER_S,
                                                 nanosec=t_ns % NS_PER_S),
                           frame_id=frame_id)


def _vec(v: np.ndarray) -> SimpleNamespace:
    return SimpleNamespace(x=float(v[0]), y=float(v[1]), z=float(v[2]))


def joint_state_msg(obs: Observation, t_ns: int) -> SimpleNamespace:
    """Return a duck-typed ``sensor_msgs/JointState`` of ``obs``."""
    return SimpleNamespace(header=_header(t_ns, 'base_link'), name=list(obs.joint_names),
                           position=obs.joint_pos.tolist(), velocity=obs.joint_vel.tolist(),
                           effort=obs.joint_effort.tolist())


def imu_msg(obs: Observation, t_ns: int) -> SimpleNamespace:
    """Return a duck-typed ``sensor_msgs/Imu`` of ``obs``."""
    q = obs.orientation_xyzw
    return SimpleNamespace(
        header=_header(t_ns, 'imu_link'),
        orientation=SimpleNamespace(x=q[0], y=q[1], z=q[2], w=q[3]),
        orientation_covariance=[0.0] * 9, angular_velocity=_vec(obs.gyro),
        angular_velocity_covariance=[0.0] * 9, linear_acceleration=_vec(obs.accel),
        linear_acceleration_covariance=[0.0] * 9)


def laser_scan_msg(obs: Observation, t_ns: int) -> SimpleNamespace:
    """Return a duck-typed ``sensor_msgs/LaserScan`` of ``obs``."""
    return SimpleNamespace(
        header=_header(t_ns, 'laser'), angle_min=obs.scan_angle_min,
        angle_max=obs.scan_angle_min + obs.scan_angle_increment * (obs.scan_ranges.size - 1),
        angle_increment=obs.scan_angle_increment, time_increment=0.0, scan_time=0.0,
        range_min=obs.scan_range_min, range_max=obs.scan_range_max,
        ranges=obs.scan_ranges.tolist(), intensities=[])


@dataclass
class LoopConfig:
    """Settings of the closed loop (network size, timing, exploration)."""

    #: network steps per decision (the observation is held for the window)
    window_steps: int = 20
    #: input-free steps after each reward, over which the window's eligibility is consolidated
    credit_steps: int = 10
    #: Poisson input channels (exploration noise) and their rate
    noise_channels: int = 8
    noise_rate_hz: float = 50.0
    n_hidden: int = 128
    block_size: int = 32
    pop_size: int = 8
    dt_s: float = 0.001
    #: dotted NetworkConfig overrides, e.g. ``{'plasticity.lr_readout': 0.01}``
    network: dict[str, Any] = field(default_factory=dict)
    #: the class acted on (and credited by the reward) when no readout neuron spiked in the
    #: window (decision -1); -1: zero command (:data:`NO_ACTION`) and no class credited
    silent_action: int = 0


class Encoder:
    """The task's adapters, concatenated into one input channel range per adapter."""

    def __init__(self, env: Env, cfg: LoopConfig) -> None:
        dt_ns = int(round(cfg.dt_s * NS_PER_S))
        self.parts: list[tuple[Any, Any, int]] = []
        if env.name == 'pendulum':
            js = JointStateAdapter(JointStateConfig(
                joint_names=('hinge',), position_min=-1.0, position_max=1.0,
                velocity_min=-3.0, velocity_max=3.0,
                population=PopulationConfig(n_neurons=12)), dt_ns)
            self.parts.append((js, joint_state_msg, 0))
        elif env.name == 'mobile':
            scan = LaserScanAdapter(LaserScanConfig(
                n_sectors=12, near_m=0.15, far_m=1.2, window_steps=cfg.window_steps), dt_ns)
            imu = ImuAdapter(ImuConfig(encoding='population', use_angular_velocity=False,
                                       population=PopulationConfig(n_neurons=8)), dt_ns)
            self.parts.append((scan, laser_scan_msg, 0))
            self.parts.append((imu, imu_msg, scan.n_channels))
        else:
            raise ValueError(f'no encoder for task {env.name!r}')
        last = self.parts[-1]
        self.n_sensor_channels = last[2] + last[0].n_channels
        self.window_steps = cfg.window_steps

    def reset(self) -> None:
        """Forget the adapters' stream state (new episode)."""
        for adapter, _, _ in self.parts:
            adapter.reset()

    def encode(self, obs: Observation, t_ns: int) -> list[np.ndarray]:
        """Return the input indices for each step of one decision window.

        One-shot samples (joint state, IMU) are held for the whole window, like a driver
        publishing at the network rate; a rate-coded scan spreads over its own window.
        """
        steps: list[list[np.ndarray]] = [[] for _ in range(self.window_steps)]
        for adapter, build, offset in self.parts:
            batch = adapter.process(build(obs, t_ns))
            per_step = batch.steps()
            if len(per_step) == 1:
                per_step = per_step * self.window_steps
            for k in range(min(self.window_steps, len(per_step))):
                steps[k].append(per_step[k].astype(np.int64) + offset)
        return [np.concatenate(s) if s else np.zeros(0, np.int64) for s in steps]


def network_config(n_inputs: int, n_classes: int, cfg: LoopConfig) -> NetworkConfig:
    """Return the small network used in the loop (overrides from ``cfg.network``)."""
    base: dict[str, Any] = {
        'dt_s': cfg.dt_s, 'n_inputs': n_inputs,
        'layers': {'n_layers': 1, 'n_hidden': cfg.n_hidden, 'block_size': cfg.block_size,
                   'p_input': 0.05, 'w_input': 0.3, 'w_rec_std': 0.02},
        'readout': {'n_classes': n_classes, 'pop_size': cfg.pop_size, 'p_readout': 0.3,
                    'w_readout': 0.03, 'window_steps': cfg.window_steps},
        'neuron': {'target_rate_hz': 20.0},
        'plasticity': {'lr_hidden': 1e-5, 'lr_readout': 0.002},
        'modulation': {'baseline_tau': 5.0},
    }
    for key, value in cfg.network.items():
        group, _, name = key.rpartition('.')
        (base.setdefault(group, {}) if group else base)[name] = value
    return NetworkConfig.from_dict(base)


class SNNAgent:
    """The spiking network acting in an environment and learning from its reward."""

    def __init__(self, env: Env, seed: int = 0, cfg: LoopConfig | None = None) -> None:
        self.cfg = cfg or LoopConfig()
        self.encoder = Encoder(env, self.cfg)
        self.noise_offset = self.encoder.n_sensor_channels
        n_inputs = self.noise_offset + self.cfg.noise_channels
        self.net = Network(network_config(n_inputs, env.n_actions, self.cfg), seed=seed)
        self.rng = np.random.default_rng(seed + 1)
        self.t_ns = 0
        self.dt_ns = int(round(self.cfg.dt_s * NS_PER_S))
        self._zero = np.zeros(env.n_actions)
        self.decisions = 0
        self.silent_decisions = 0
        self._credit: int | None = None

    def _noise(self) -> np.ndarray:
        p = self.cfg.noise_rate_hz * self.cfg.dt_s
        hits = np.flatnonzero(self.rng.random(self.cfg.noise_channels) < p)
        return hits + self.noise_offset

    def act(self, obs: Observation) -> int:
        """Run one decision window on ``obs``; return the readout's class.

        A silent window (decision -1) returns ``LoopConfig.silent_action``.
        """
        steps = self.encoder.encode(obs, self.t_ns)
        self.net.reset_window()
        for idx in steps:
            self.net.step(np.concatenate([idx, self._noise()]))
        self.t_ns += len(steps) * self.dt_ns
        d = self.net.decision()
        self.decisions += 1
        if d.label >= 0:
            self._credit = None
            return d.label
        self.silent_decisions += 1
        action = int(self.cfg.silent_action)
        self._credit = action if action >= 0 else None
        return action

    def learn(self, reward: float) -> None:
        """Apply the reward of the last action (``Network.reward``) and consolidate it."""
        if not self.net.learning:
            return
        self.net.reward(reward, self._credit)
        for _ in range(self.cfg.credit_steps):
            self.net.step(self._noise())
        self.net.error(self._zero)
        self.t_ns += self.cfg.credit_steps * self.dt_ns

    def new_episode(self) -> None:
        """Reset the adapters' stream state at an episode boundary (weights are kept)."""
        self.encoder.reset()


def action_of(label: int) -> int | tuple[float, float]:
    """Return the env action of a readout class: the class, or :data:`NO_ACTION` for -1."""
    return label if label >= 0 else NO_ACTION


def run_snn_episode(env: Env, agent: SNNAgent, seed: int, learn: bool = True) -> float:
    """Run one episode with the network choosing the actions; return the return."""
    agent.net.learning = learn
    agent.new_episode()
    obs = env.reset(seed)
    total = 0.0
    while True:
        res = env.step(action_of(agent.act(obs)))
        total += res.reward
        agent.learn(res.reward)
        obs = res.obs
        if res.done:
            return total


@dataclass
class LearningCurve:
    """Per-episode returns of the network, with random and hand-written references."""

    task: str
    snn: list[float]
    random: list[float]
    hand: list[float]
    wall_s: float
    sim_s: float

    def summary(self, last: int = 5) -> dict[str, float]:
        """Return means over the first and last ``last`` episodes and the references."""
        return {'snn_first': float(np.mean(self.snn[:last])),
                'snn_last': float(np.mean(self.snn[-last:])),
                'random': float(np.mean(self.random)), 'hand': float(np.mean(self.hand))}


def learning_curve(task: str, episodes: int, seed: int = 0, cfg: LoopConfig | None = None,
                   references: bool = True, env_kwargs: dict | None = None) -> LearningCurve:
    """Learn ``task`` online for ``episodes`` episodes; episode ``i`` starts from seed ``i``.

    The random and hand-written policies run the same start states (when ``references``).
    """
    env = make_env(task, **(env_kwargs or {}))
    agent = SNNAgent(env, seed, cfg)
    t0 = time.perf_counter()
    sim0 = 0.0
    snn = []
    for i in range(episodes):
        snn.append(run_snn_episode(env, agent, seed * 1000 + i))
        sim0 += env.steps * env.control_dt_s
    wall = time.perf_counter() - t0
    rand, hand = [], []
    if references:
        rpol, hpol = random_policy(env, seed), hand_policy(env)
        rand = [run_episode(env, rpol, seed * 1000 + i) for i in range(episodes)]
        hand = [run_episode(env, hpol, seed * 1000 + i) for i in range(episodes)]
    return LearningCurve(task, snn, rand, hand, wall, sim0)


def frozen_returns(task: str, episodes: int, seed: int = 0, cfg: LoopConfig | None = None,
                   env_kwargs: dict | None = None) -> list[float]:
    """Return the per-episode returns of the same network with learning off (the control)."""
    env = make_env(task, **(env_kwargs or {}))
    agent = SNNAgent(env, seed, cfg)
    return [run_snn_episode(env, agent, seed * 1000 + i, learn=False) for i in range(episodes)]


def moving_mean(x: list[float], n: int) -> list[float]:
    """Return the trailing mean over ``n`` episodes (for printing curves)."""
    out = []
    for i in range(len(x)):
        lo = max(0, i - n + 1)
        out.append(float(np.mean(x[lo:i + 1])))
    return out
