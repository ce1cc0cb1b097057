"""ROS-free closed loops: a MuJoCo task, the sensor adapters and the spiking network.

:class:`GraphLoop` is the sim launch files' ROS graph without ROS: built from the same
``config/sim_<task>.yaml``, it runs the sim node's session, the adapters the adapter nodes
build and the core and readout runtimes the nodes wrap, in the order the lockstep graph runs
them (reward first, then the sensors; one decision and one command per control period). The
composed ROS graph gives the same returns (``test/test_sim_closed_loop.py``).

:class:`SNNAgent` is the original in-process agent (its own encoder, noise and credit loop,
not the runtimes). Per control period it does:

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
from pathlib import Path
import time
from types import SimpleNamespace
from typing import Any, Callable

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


def _f32(x: float) -> float:
    return float(np.float32(x))


def laser_scan_msg(obs: Observation, t_ns: int) -> SimpleNamespace:
    """Return a duck-typed ``sensor_msgs/LaserScan`` of ``obs`` (float32 fields, as sent)."""
    return SimpleNamespace(
        header=_header(t_ns, 'laser'), angle_min=_f32(obs.scan_angle_min),
        angle_max=_f32(obs.scan_angle_min
                       + obs.scan_angle_increment * (obs.scan_ranges.size - 1)),
        angle_increment=_f32(obs.scan_angle_increment), time_increment=0.0, scan_time=0.0,
        range_min=_f32(obs.scan_range_min), range_max=_f32(obs.scan_range_max),
        ranges=obs.scan_ranges.astype(np.float32).tolist(), intensities=[])


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


# --------------------------------------------------------------------------------------------
# The ROS graph of the simulation launch files, without ROS


#: config directory of the source tree (the launch files' ``config/sim_<task>.yaml``)
CONFIG_DIR = Path(__file__).resolve().parents[2] / 'config'
#: adapter node name -> (sensor message type, duck-typed message of an observation)
SENSORS: dict[str, tuple[str, Callable[[Observation, int], SimpleNamespace]]] = {
    'joint_state': ('sensor_msgs/msg/JointState', joint_state_msg),
    'imu': ('sensor_msgs/msg/Imu', imu_msg),
    'laser_scan': ('sensor_msgs/msg/LaserScan', laser_scan_msg),
}


def task_params(task: str | Path, overrides: dict[str, dict[str, Any]] | None = None
                ) -> dict[str, dict[str, Any]]:
    """Return ``{node: {dotted param: value}}`` of ``config/sim_<task>.yaml`` (or a YAML path).

    ``overrides`` (``{'snn_core': {'plasticity.learning': False}}``) replace single values.
    """
    from snn_ros.replay import load_params

    path = Path(task) if str(task).endswith('.yaml') else CONFIG_DIR / f'sim_{task}.yaml'
    params = load_params(path)
    for node, values in (overrides or {}).items():
        params.setdefault(node, {}).update(values)
    return params


def graph_adapters(params: dict[str, dict[str, Any]]) -> list[str]:
    """Return the adapter nodes the core listens to (``joint_state/spikes`` -> joint_state)."""
    topics = params.get('snn_core', {}).get('inputs.topics', ())
    return [t.strip('/').split('/')[0] for t in topics]


class GraphLoop:
    """The sim launch files' ROS graph in one process, through the nodes' own ROS-free code.

    Per control period, exactly as ``sim_node`` (lockstep) -> adapter nodes -> ``snn_core``
    (``mode: sync``) -> ``readout`` -> ``cmd_vel`` -> ``sim_node``: the session
    (:class:`SimSession`, the sim node's) ends the period and hands out the reward, which goes
    to :meth:`CoreRuntime.on_reward` first, then the sensors as the messages the sim node
    publishes, encoded by the adapters the adapter nodes build from the same parameters; the
    core runtime steps their spikes, the readout runtime turns the readout spikes into the
    decision and the command of the next period. Nothing is simulated twice or differently,
    so the composed ROS loop with the same parameters gives the same returns.

    Args:
        params: ``{node: {dotted param: value}}`` for ``sim``, the adapters, ``snn_core`` and
            ``readout`` (:func:`task_params`).
    """

    def __init__(self, params: dict[str, dict[str, Any]]) -> None:
        from snn_ros.core.config import NetworkConfig
        from snn_ros.replay import build_config, make_adapter
        from snn_ros.runtime import CoreNodeConfig, CoreRuntime, ReadoutNodeConfig, \
            ReadoutRuntime
        from snn_ros.sim.session import SimNodeConfig, SimSession

        self.session = SimSession(build_config(SimNodeConfig, params.get('sim', {}), 'sim'))
        core = params.get('snn_core', {})
        node_cfg = build_config(CoreNodeConfig, core, 'snn_core')
        net = Network(build_config(NetworkConfig, core, 'snn_core'), node_cfg.seed)
        self.core = CoreRuntime(net, node_cfg)
        self.readout = ReadoutRuntime(build_config(ReadoutNodeConfig, params.get('readout', {}),
                                                   'readout'))
        self.dt_ns = self.core.dt_ns
        self.inputs = []
        for topic in node_cfg.inputs.topics:
            name = topic.strip('/').split('/')[0]
            if name not in SENSORS:
                raise ValueError(f'input {topic!r}: no simulated sensor for adapter {name!r}')
            msg_type, build = SENSORS[name]
            flat = params.get(name, {})
            dt_ns = int(round(float(flat.get('dt_s', 0.001)) * NS_PER_S))
            self.inputs.append((make_adapter(name, msg_type, flat, dt_ns), build))
        self.command = (0.0, 0.0)
        self.decisions = 0
        self.silent_decisions = 0
        self._started = False

    @property
    def net(self) -> Network:
        """Return the core's network."""
        return self.core.net

    def sense(self, obs: Observation, t_ns: int) -> None:
        """Deliver the sensors of ``obs`` stamped ``t_ns``; keep the readout's last command."""
        n_readout = self.net.config.readout.n_readout
        for k, (adapter, build) in enumerate(self.inputs):
            b = adapter.process(build(obs, t_ns))
            if b.n_steps <= 0:
                continue
            out = self.core.on_spikes(k, b.indices, b.step_offsets, b.n_steps,
                                      b.population_size, b.dt_ns, b.t0_ns)
            if out is None:
                continue
            for d in self.readout.on_spikes(out.readout_indices, out.readout_offsets,
                                            out.n_steps, n_readout, out.t0_ns, self.dt_ns):
                self.command = d.command
                self.decisions += 1
                self.silent_decisions += d.class_index < 0

    def run(self, episodes: int) -> list[float]:
        """Run until ``episodes`` more episodes have ended; return their returns."""
        s = self.session
        target = len(s.returns) + int(episodes)
        if not self._started:
            self._started = True
            self.sense(s.reset(), s.sim_time_ns)
        while len(s.returns) < target:
            res = s.period(self.command)
            self.core.on_reward(_f32(res.reward))  # std_msgs/Float32 on the reward topic
            obs = s.next_episode() if res.done else res.obs
            self.sense(obs, s.sim_time_ns)
        return s.returns[target - int(episodes):]


def graph_returns(task: str | Path, episodes: int, learning: bool = True,
                  overrides: dict[str, dict[str, Any]] | None = None) -> list[float]:
    """Return the per-episode returns of :class:`GraphLoop` on ``config/sim_<task>.yaml``."""
    over = {k: dict(v) for k, v in (overrides or {}).items()}
    over.setdefault('snn_core', {})['plasticity.learning'] = bool(learning)
    return GraphLoop(task_params(task, over)).run(episodes)
