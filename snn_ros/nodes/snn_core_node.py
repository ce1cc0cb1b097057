"""The learning SNN node: spike inputs and teaching signals in, readout spikes and stats out."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import threading
import time
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
import numpy as np
import rclpy
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Float32, Float32MultiArray, Int32, String
from std_srvs.srv import SetBool, Trigger

from snn_ros.core.config import NetworkConfig
from snn_ros.core.errors import CheckpointError, InputError
from snn_ros.core.network import Network
from snn_ros.msg import LearningStatus, SpikeEvents
from snn_ros.nodes.convert import ns_to_stamp, spike_events, stamp_to_ns, u32_view
from snn_ros.nodes.params import ParameterBinding
from snn_ros.nodes.ratelimit import RateLimitedErrors
from snn_ros.srv import Checkpoint

RELIABLE = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
TEACHING_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
LATCHED_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)


def _p(default: Any, description: str, lo: float | None = None, hi: float | None = None, *,
       read_only: bool = False, **extra: Any) -> Any:
    meta = {'description': description, 'min': lo, 'max': hi, 'read_only': read_only}
    meta.update(extra)
    return field(default=default, metadata=meta)


def _group(cls: type) -> Any:
    return field(default_factory=cls, metadata={'group': True})


@dataclass(frozen=True)
class InputsConfig:
    """Spike input topics and where they land in the network's input channels."""

    topics: tuple[str, ...] = _p(('event_camera/spikes',), 'SpikeEvents topics to subscribe',
                                 read_only=True)
    offsets: tuple[int, ...] = _p((0,), 'first input channel of each topic', read_only=True)
    sizes: tuple[int, ...] = _p((0,), 'expected population_size of each topic (0 = any that '
                                'fits)', read_only=True)
    max_queue_steps: int = _p(2000, 'timer mode: steps buffered per input before the oldest '
                              'are dropped (counted)', 1, 10_000_000, read_only=True)

    def __post_init__(self) -> None:
        """Check that topics, offsets and sizes line up."""
        n = len(self.topics)
        if n == 0 or len(self.offsets) != n or len(self.sizes) != n:
            raise ValueError(f'inputs.topics, inputs.offsets and inputs.sizes need the same '
                             f'non-zero length, got {n}, {len(self.offsets)}, '
                             f'{len(self.sizes)}')
        if any(o < 0 for o in self.offsets) or any(s < 0 for s in self.sizes):
            raise ValueError('inputs.offsets and inputs.sizes must be >= 0')


@dataclass(frozen=True)
class HiddenConfig:
    """Optional publication of hidden-layer spikes (for monitoring)."""

    publish: bool = _p(False, 'publish hidden spikes on ~/hidden_spikes')
    max_rate_hz: float = _p(10.0, 'at most this many hidden-spike messages per second',
                            0.001, 1000.0)


@dataclass(frozen=True)
class CoreNodeConfig:
    """Settings of the SNN core node itself (the network's own come from NetworkConfig)."""

    seed: int = _p(0, 'seed of the network (wiring, feedback matrices)', 0, (1 << 63) - 1,
                   read_only=True)
    mode: str = _p('timer', "'timer': step at dt on the node clock (use_sim_time honoured); "
                   "'data': step exactly the steps each SpikeEvents covers (replay, tests)",
                   read_only=True, choices=('timer', 'data'))
    steps_per_tick: int = _p(1, 'timer mode: steps per timer tick (tick period = dt_s * this)',
                             1, 100000, read_only=True)
    inputs: InputsConfig = _group(InputsConfig)
    hidden: HiddenConfig = _group(HiddenConfig)
    status_period_s: float = _p(1.0, 'period of ~/status and /diagnostics', 0.01, 3600.0,
                                read_only=True)
    checkpoint: str = _p('', 'checkpoint .npz: loaded at start when it exists, the default '
                         'path of the save/load services, saved periodically and on shutdown',
                         read_only=True)
    checkpoint_period_s: float = _p(0.0, 'save the checkpoint this often (0 = only on '
                                    'shutdown and on request)', 0.0, 1e9, read_only=True)
    save_on_shutdown: bool = _p(True, 'save the checkpoint when the node shuts down',
                                read_only=True)
    warmup: bool = _p(True, 'compile the numba kernels at start-up (a throwaway network)',
                      read_only=True)
    error_log_period_s: float = _p(5.0, 'log each kind of rejected input at most once per '
                                   'this period (all are counted)', 0.0, 3600.0)

    def __post_init__(self) -> None:
        """Check the option strings."""
        if self.mode not in ('timer', 'data'):
            raise ValueError(f"mode: {self.mode!r} is not one of ['timer', 'data']")


def warm_up(config: NetworkConfig) -> None:
    """Compile every kernel the node uses on a tiny network with the same options."""
    tiny = NetworkConfig.from_dict({
        'dt_s': config.dt_s, 'n_inputs': 8, 'neuron': config.neuron.__dict__,
        'layers': dict(config.layers.__dict__, n_layers=1, n_hidden=8, block_size=8),
        'readout': dict(config.readout.__dict__, n_classes=2, pop_size=1, window_steps=5),
        'modulation': dict(config.modulation.__dict__, n_populations=2, fan_in=1),
        'teaching': config.teaching.__dict__,
        'plasticity': dict(config.plasticity.__dict__, learning=True)})
    net = Network(tiny, 0)
    for k in range(6):
        net.run_batch(np.arange(8, dtype=np.uint32), np.zeros(8, np.uint32), 2)
        net.teach(k % 2)
        net.reward(0.5)
        net.error(np.array([0.1, -0.1]))
        net.decision()
        net.reset_window()
    net.stats()


class SnnCoreNode(Node):
    """Step the network on spike input, learn from label/reward/error, publish readout spikes.

    Topics (names relative to the node namespace; ``~`` is the node's private namespace):
        subscribes ``inputs.topics`` (``SpikeEvents``), ``~/label`` (``std_msgs/Int32``, -1
        stops teaching), ``~/reward`` (``std_msgs/Float32``), ``~/error``
        (``std_msgs/Float32MultiArray``, one value per class); publishes ``~/readout_spikes``,
        ``~/hidden_spikes`` (optional, rate-limited), ``~/status`` (``LearningStatus``),
        ``/diagnostics``.

    Teaching acts at decision-window ends (``readout.window_steps``): the window's counts and
    the latest label give the margin-WTA error that gates plasticity during the next window.
    A reward or explicit error acts at once and lasts until the window ends.
    """

    def __init__(self, node_name: str = 'snn_core', **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self._lock = threading.RLock()
        self.node_params = ParameterBinding(self, CoreNodeConfig, on_change=self._on_node_params)
        self.net_params = ParameterBinding(self, NetworkConfig, on_change=self._on_net_params)
        cfg = self.node_params.config
        self.net_config: NetworkConfig = self.net_params.config
        self.dt_ns = int(round(self.net_config.dt_s * 1e9))
        self.errors = RateLimitedErrors(self.get_logger(), cfg.error_log_period_s)
        self.counts: Counter = Counter()
        self.checkpoint_path = cfg.checkpoint
        if cfg.warmup:
            t0 = time.monotonic()
            warm_up(self.net_config)
            self.get_logger().info(f'numba warm-up {time.monotonic() - t0:.2f} s')
        self.net = self._initial_network(cfg)
        self.n_readout = self.net_config.readout.n_readout
        self.n_hidden_total = self.net_config.layers.n_hidden * self.net_config.layers.n_layers
        self._label = -1
        self._pending_clear = False
        self._last_hidden_pub = -1e18
        self._queues = [deque() for _ in cfg.inputs.topics]
        self._next_ns: list[int | None] = [None for _ in cfg.inputs.topics]
        self._last_input_ns = 0

        group = MutuallyExclusiveCallbackGroup()
        self._readout_pub = self.create_publisher(SpikeEvents, '~/readout_spikes', RELIABLE)
        self._hidden_pub = self.create_publisher(SpikeEvents, '~/hidden_spikes', RELIABLE)
        self._status_pub = self.create_publisher(LearningStatus, '~/status', TEACHING_QOS)
        self._diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', TEACHING_QOS)
        self._describe(cfg)
        inp = cfg.inputs
        for k, (topic, off, size) in enumerate(zip(inp.topics, inp.offsets, inp.sizes)):
            self.create_subscription(
                SpikeEvents, topic, lambda m, k=k, o=off, s=size: self._on_spikes(m, k, o, s),
                RELIABLE, callback_group=group)
        self.create_subscription(Int32, '~/label', self._on_label, TEACHING_QOS,
                                 callback_group=group)
        self.create_subscription(Float32, '~/reward', self._on_reward, TEACHING_QOS,
                                 callback_group=group)
        self.create_subscription(Float32MultiArray, '~/error', self._on_error, TEACHING_QOS,
                                 callback_group=group)
        self.create_service(Checkpoint, '~/save_checkpoint', self._srv_save, callback_group=group)
        self.create_service(Checkpoint, '~/load_checkpoint', self._srv_load, callback_group=group)
        self.create_service(Trigger, '~/reset_state', self._srv_reset, callback_group=group)
        self.create_service(SetBool, '~/set_learning', self._srv_learning, callback_group=group)
        if cfg.mode == 'timer':
            self.create_timer(self.net_config.dt_s * cfg.steps_per_tick, self._on_tick,
                              callback_group=group)
        self.create_timer(cfg.status_period_s, self.publish_status, callback_group=group)
        if cfg.checkpoint and cfg.checkpoint_period_s > 0:
            self.create_timer(cfg.checkpoint_period_s, self._periodic_save, callback_group=group)
        self.get_logger().info(
            f'network {self.net_config.n_inputs} inputs, {self.net_config.layers.n_layers} x '
            f'{self.net_config.layers.n_hidden} hidden, {self.net_config.readout.n_classes} '
            f'classes; mode {cfg.mode}; inputs {list(inp.topics)}')

    # ------------------------------------------------------------------ set-up
    def _initial_network(self, cfg: CoreNodeConfig) -> Network:
        path = cfg.checkpoint
        if path and os.path.exists(path):
            net = Network.load(path, self.net_config)  # a bad file is fatal: say so at start
            self.get_logger().info(f'loaded checkpoint {path} (step {net.t})')
            return net
        if path:
            self.get_logger().info(f'checkpoint {path} does not exist yet; starting fresh')
        return Network(self.net_config, cfg.seed)

    def _describe(self, cfg: CoreNodeConfig) -> None:
        """Publish the network's config and input wiring once, latched (``~/description``)."""
        self._description_pub = self.create_publisher(String, '~/description', LATCHED_QOS)
        doc = {'network': self.net_config.to_dict(), 'seed': cfg.seed, 'mode': cfg.mode,
               'inputs': [{'topic': self.resolve_topic_name(t), 'offset': o, 'size': z}
                          for t, o, z in zip(cfg.inputs.topics, cfg.inputs.offsets,
                                             cfg.inputs.sizes)],
               'readout_neurons': self.net_config.readout.n_readout}
        self._description_pub.publish(String(data=json.dumps(doc)))

    def _on_node_params(self, config: CoreNodeConfig, names: list[str]) -> None:
        self.errors._period_s = config.error_log_period_s

    def _on_net_params(self, config: NetworkConfig, names: list[str]) -> None:
        with self._lock:
            flat = {n: _get(config, n) for n in names}
            self.net.update_params(flat)
            self.net_config = self.net.config
        self.get_logger().info(f'updated {flat}')

    # ------------------------------------------------------------------ input
    def _reject(self, reason: str, message: str) -> None:
        self.counts['rejected_messages'] += 1
        self.errors.error(reason, message)

    def _check_spikes(self, msg: SpikeEvents, offset: int, size: int):
        n_inputs = self.net_config.n_inputs
        pop = int(msg.population_size)
        if size and pop != size:
            return f'population_size {pop}, expected {size}', 'population_size'
        if pop == 0 or offset + pop > n_inputs:
            return (f'population_size {pop} at offset {offset} exceeds the {n_inputs} input '
                    'channels', 'population_size')
        if int(msg.dt_ns) != self.dt_ns:
            return f'dt_ns {msg.dt_ns}, the network steps {self.dt_ns} ns', 'dt_mismatch'
        n_steps = int(msg.n_steps)
        idx = u32_view(msg.indices)
        off = u32_view(msg.step_offsets)
        if idx.size != off.size:
            return f'{idx.size} indices but {off.size} step_offsets', 'shape'
        if n_steps > 1_000_000:
            return f'n_steps {n_steps} above 1e6', 'n_steps'
        if idx.size:
            if int(idx.max()) >= pop:
                return f'index {int(idx.max())} >= population_size {pop}', 'out_of_range'
            if int(off.max()) >= n_steps or np.any(np.diff(off.astype(np.int64)) < 0):
                return 'step_offsets not non-decreasing in [0, n_steps)', 'step_offsets'
        return (idx.astype(np.int64) + offset, off, n_steps), None

    def _on_spikes(self, msg: SpikeEvents, k: int, offset: int, size: int) -> None:
        self.counts['input_messages'] += 1
        checked, reason = self._check_spikes(msg, offset, size)
        if reason is not None:
            self.counts['dropped_input_spikes'] += len(msg.indices)
            self._reject(reason, f'SpikeEvents on input {k}: {checked}')
            return
        idx, off, n_steps = checked
        self.counts['input_spikes'] += int(idx.size)
        t0 = stamp_to_ns(msg.header.stamp)
        if self.node_params.config.mode == 'data':
            idx, off, n_steps, t0 = self._trim_overlap(k, idx, off, n_steps, t0)
            self._run(idx, off, n_steps, t0, msg.header.frame_id)
            self._next_ns[k] = t0 + n_steps * self.dt_ns
            return
        queue = self._queues[k]
        bounds = np.searchsorted(off, np.arange(n_steps + 1))
        for s in range(n_steps):
            queue.append((idx[bounds[s]:bounds[s + 1]], t0 + s * self.dt_ns))
        excess = len(queue) - self.node_params.config.inputs.max_queue_steps
        for _ in range(max(0, excess)):
            dropped, _ = queue.popleft()
            self.counts['dropped_input_spikes'] += int(dropped.size)
            self.counts['dropped_steps'] += 1

    def _trim_overlap(self, k: int, idx: np.ndarray, off: np.ndarray, n_steps: int,
                      t0: int) -> tuple[np.ndarray, np.ndarray, int, int]:
        """Drop steps already run (data mode) when consecutive messages share a step.

        Adapters bin each packet from its first to its last event's step, so two packets cut
        inside one step both cover it. Steps already run are dropped from the new message and
        their spikes moved to its first new step (one step late rather than stepped twice).
        """
        nxt = self._next_ns[k]
        if nxt is None or t0 >= nxt:
            return idx, off, n_steps, t0
        done = min(n_steps, -(-(nxt - t0) // self.dt_ns))
        left = max(n_steps - done, 1 if idx.size else 0)
        off = np.minimum(np.maximum(off.astype(np.int64) - done, 0), max(left - 1, 0))
        return idx, off.astype(np.uint32), left, nxt

    def _on_tick(self) -> None:
        n = self.node_params.config.steps_per_tick
        steps, t0 = [], None
        for _ in range(n):
            parts = []
            for queue in self._queues:
                if queue:
                    idx, t = queue.popleft()
                    parts.append(idx)
                    t0 = t if t0 is None else t0
            steps.append(np.concatenate(parts) if parts else np.zeros(0, np.int64))
        if t0 is None:
            t0 = self.get_clock().now().nanoseconds
        sizes = np.array([s.size for s in steps])
        idx = np.concatenate(steps) if sizes.sum() else np.zeros(0, np.int64)
        off = np.repeat(np.arange(n, dtype=np.uint32), sizes)
        self._run(idx, off, n, t0, '')

    # ------------------------------------------------------------------ stepping
    def _run(self, idx: np.ndarray, off: np.ndarray, n_steps: int, t0_ns: int,
             frame_id: str) -> None:
        """Step ``n_steps`` steps, ending decision windows (teaching) where they fall."""
        if n_steps == 0:
            return
        with self._lock:
            net = self.net
            hidden = self._want_hidden()
            bounds = np.searchsorted(off, np.arange(n_steps + 1))
            out_idx, out_off, hid_idx, hid_off = [], [], [], []
            try:
                for s in range(n_steps):
                    spikes = net.step(idx[bounds[s]:bounds[s + 1]])
                    if spikes.size:
                        out_idx.append(spikes)
                        out_off.append(np.full(spikes.size, s, np.uint32))
                    if hidden:
                        h = self._hidden_spikes()
                        hid_idx.append(h)
                        hid_off.append(np.full(h.size, s, np.uint32))
                    if net.window_steps >= net.config.readout.window_steps:
                        self._end_window()
            except InputError as err:  # checked above; a last line of defence
                self._reject('input', str(err))
                return
            self.counts['steps'] += n_steps
            self._last_input_ns = t0_ns
        cat = (lambda a, dt: np.concatenate(a) if a else np.zeros(0, dt))
        self._readout_pub.publish(spike_events(
            cat(out_idx, np.int64), cat(out_off, np.uint32), n_steps, t0_ns, self.dt_ns,
            self.n_readout, frame_id))
        if hidden:
            self._hidden_pub.publish(spike_events(
                cat(hid_idx, np.int64), cat(hid_off, np.uint32), n_steps, t0_ns, self.dt_ns,
                self.n_hidden_total, frame_id))

    def _end_window(self) -> None:
        net = self.net
        net.decision()
        if self._label >= 0:
            net.teach(self._label)
            self.counts['teach_events'] += 1
        elif self._pending_clear:
            net.error(np.zeros(net.n_classes))
        self._pending_clear = False
        net.reset_window()
        self.counts['windows'] += 1

    def _want_hidden(self) -> bool:
        hc = self.node_params.config.hidden
        if not hc.publish:
            return False
        now = time.monotonic()
        if now - self._last_hidden_pub < 1.0 / hc.max_rate_hz:
            return False
        self._last_hidden_pub = now
        return True

    def _hidden_spikes(self) -> np.ndarray:
        n_h = self.net_config.layers.n_hidden
        parts = [g.spikes.astype(np.int64) + k * n_h
                 for k, g in enumerate(self.net.groups[:self.net.readout_group])]
        return np.concatenate(parts)

    # ------------------------------------------------------------------ teaching
    def _on_label(self, msg: Int32) -> None:
        label = int(msg.data)
        if label < -1 or label >= self.net_config.readout.n_classes:
            self._reject('bad_label', f'label {label} outside [-1, '
                         f'{self.net_config.readout.n_classes})')
            return
        with self._lock:
            if label < 0 and self._label >= 0:
                self._pending_clear = True
            self._label = label
        self.counts['labels'] += 1

    def _on_reward(self, msg: Float32) -> None:
        with self._lock:
            try:
                self.net.reward(float(msg.data))
            except InputError as err:
                self._reject('bad_reward', str(err))
                return
            self._pending_clear = True
        self.counts['rewards'] += 1

    def _on_error(self, msg: Float32MultiArray) -> None:
        with self._lock:
            try:
                self.net.error(np.asarray(msg.data, dtype=np.float64))
            except InputError as err:
                self._reject('bad_error', str(err))
                return
            self._pending_clear = True
        self.counts['errors'] += 1

    # ------------------------------------------------------------------ services
    def save(self, path: str = '') -> str:
        """Save a checkpoint to ``path`` (or the ``checkpoint`` parameter); return the path."""
        path = path or self.checkpoint_path
        if not path:
            raise CheckpointError('no path given and parameter checkpoint is empty')
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            out = self.net.save(path)
        self.counts['checkpoints_saved'] += 1
        return str(out)

    def _srv_save(self, req: Checkpoint.Request, res: Checkpoint.Response):
        try:
            path = self.save(req.path)
            res.success, res.message = True, f'saved {path} at step {self.net.t}'
        except (OSError, ValueError) as err:
            res.success, res.message = False, f'save failed: {err}'
        return res

    def _srv_load(self, req: Checkpoint.Request, res: Checkpoint.Response):
        path = req.path or self.checkpoint_path
        try:
            if not path:
                raise CheckpointError('no path given and parameter checkpoint is empty')
            net = Network.load(path, self.net_config)
        except (OSError, ValueError) as err:
            res.success, res.message = False, f'load failed: {err}'
            return res
        with self._lock:
            self.net = net
            for q in self._queues:
                q.clear()
        res.success, res.message = True, f'loaded {path} at step {net.t}'
        return res

    def _srv_reset(self, req: Trigger.Request, res: Trigger.Response):
        with self._lock:
            self.net.reset_state()
            for q in self._queues:
                q.clear()
        res.success, res.message = True, 'state reset (weights kept)'
        return res

    def _srv_learning(self, req: SetBool.Request, res: SetBool.Response):
        result = self.net_params.set_local({'plasticity.learning': bool(req.data)})
        res.success = result.successful
        res.message = (f'learning {"on" if req.data else "off"}' if result.successful
                       else result.reason)
        return res

    def _periodic_save(self) -> None:
        try:
            self.save()
        except (OSError, ValueError) as err:
            self.errors.error('checkpoint', f'periodic save failed: {err}')

    def shutdown_save(self) -> None:
        """Save the checkpoint when configured to (call before destroying the node)."""
        cfg = self.node_params.config
        if cfg.checkpoint and cfg.save_on_shutdown:
            try:
                self.get_logger().info(f'saved {self.save()} on shutdown')
            except (OSError, ValueError) as err:
                self.get_logger().error(f'save on shutdown failed: {err}')

    # ------------------------------------------------------------------ status
    def diagnostics_values(self) -> dict[str, int]:
        """Return every counter (input, rejected by reason, steps, teaching, checkpoints)."""
        out = {k: int(self.counts.get(k, 0)) for k in (
            'input_messages', 'input_spikes', 'dropped_input_spikes', 'dropped_steps',
            'rejected_messages', 'steps', 'windows', 'labels', 'teach_events', 'rewards',
            'errors', 'checkpoints_saved')}
        out.update(self.errors.as_dict())
        out['network_step'] = int(self.net.t)
        return out

    def publish_status(self) -> None:
        """Publish ``~/status`` (LearningStatus) and ``/diagnostics``."""
        with self._lock:
            st = self.net.stats()
            activity = self.net.modulation.activity.astype(np.float32)
            baseline = float(self.net.baseline.value)
            net_t = self.net.t
            lr = self.net.learning_rate
            learning = self.net.learning
        msg = LearningStatus()
        ns_to_stamp(self._last_input_ns or self.get_clock().now().nanoseconds, msg.header.stamp)
        msg.step = net_t
        msg.learning_enabled = bool(learning)
        msg.learning_rate = float(lr)
        msg.layer_rate_hz = [float(r) for r in st['rate_hz']] + [float(st['readout_rate_hz'])]
        msg.threshold_mean = [float(v) for v in st['threshold_mean'][:-1]]
        msg.weight_names = list(st['weight_norm'])
        msg.weight_norm = [float(v) for v in st['weight_norm'].values()]
        msg.modulatory_activity = activity.tolist()
        msg.reward_baseline = baseline
        msg.input_spikes = int(self.counts['input_spikes'])
        msg.dropped_input_spikes = int(self.counts['dropped_input_spikes'])
        msg.rejected_messages = int(self.counts['rejected_messages'])
        self._status_pub.publish(msg)
        values = self.diagnostics_values()
        status = DiagnosticStatus(name=f'{self.get_fully_qualified_name()}: snn_core',
                                  hardware_id='snn_ros')
        status.level = DiagnosticStatus.WARN if values['rejected_messages'] else \
            DiagnosticStatus.OK
        status.message = (f'{values["rejected_messages"]} rejected messages'
                          if values['rejected_messages'] else 'ok')
        status.values = [KeyValue(key=k, value=str(v)) for k, v in values.items()]
        diag = DiagnosticArray(status=[status])
        diag.header.stamp = self.get_clock().now().to_msg()
        self._diag_pub.publish(diag)


def _get(config: Any, dotted: str) -> Any:
    for part in dotted.split('.'):
        config = getattr(config, part)
    return config


def main(args: Any = None) -> None:
    """Run the node (``ros2 run snn_ros snn_core_node``); save the checkpoint on exit."""
    rclpy.init(args=args)
    node = None
    try:
        node = SnnCoreNode()
        rclpy.spin(node)
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.shutdown_save()
            node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    main()
