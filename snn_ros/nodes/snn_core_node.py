"""The learning SNN node: spike inputs and teaching signals in, readout spikes and stats out."""

from __future__ import annotations

from collections import Counter
import json
import os
from pathlib import Path
import threading
import time
from typing import Any, Callable

from diagnostic_msgs.msg import DiagnosticArray
import numpy as np
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Float32, Float32MultiArray, Int32, String
from std_srvs.srv import SetBool, Trigger

from snn_ros.core.config import NetworkConfig
from snn_ros.core.errors import CheckpointError
from snn_ros.core.network import Network
from snn_ros.msg import LearningStatus, SpikeEvents
from snn_ros.nodes.common import publish_diagnostics, run
from snn_ros.nodes.convert import (msg_to_data, ns_to_stamp, spike_data, spike_events,
                                   SpikeData)
from snn_ros.nodes.params import ParameterBinding
from snn_ros.nodes.ratelimit import RateLimitedErrors
from snn_ros.runtime import CoreNodeConfig, CoreRuntime, SpikeRaster, StepOutput, warm_up
from snn_ros.srv import Checkpoint

__all__ = ['CoreNodeConfig', 'main', 'SnnCoreNode']

RELIABLE = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
TEACHING_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
LATCHED_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)


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
    A reward or explicit error acts at once and lasts until the window ends. The node only
    converts messages: the logic is :class:`snn_ros.runtime.CoreRuntime`, which the offline
    replay runs too.
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
        self.checkpoint_path = cfg.checkpoint
        if cfg.warmup:
            t0 = time.monotonic()
            warm_up(self.net_config)
            self.get_logger().info(f'numba warm-up {time.monotonic() - t0:.2f} s')
        self.runtime = CoreRuntime(self._initial_network(cfg), cfg, on_reject=self.errors.error)
        self.n_readout = self.net_config.readout.n_readout
        self.n_hidden_total = self.net_config.layers.n_hidden * self.net_config.layers.n_layers
        self._last_hidden_pub = -1e18
        self._last_input_ns = 0
        self._publish_hidden = False
        self.raster = (SpikeRaster(self.n_hidden_total, self.n_readout, cfg.raster.width_steps,
                                   cfg.raster.max_rows) if cfg.raster.publish else None)

        group = MutuallyExclusiveCallbackGroup()
        self._readout_pub = self.create_publisher(SpikeEvents, '~/readout_spikes', RELIABLE)
        self._hidden_pub = self.create_publisher(SpikeEvents, '~/hidden_spikes', RELIABLE)
        self._status_pub = self.create_publisher(LearningStatus, '~/status', TEACHING_QOS)
        self._diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', TEACHING_QOS)
        if self.raster is not None:
            self._raster_pub = self.create_publisher(Image, '~/raster', TEACHING_QOS)
        self._describe(cfg)
        inp = cfg.inputs
        self._readout_sinks: list[Callable[[SpikeData], None]] = []
        self._input_subs = [
            self.create_subscription(SpikeEvents, topic, lambda m, k=k: self._on_spikes(m, k),
                                     RELIABLE, callback_group=group)
            for k, topic in enumerate(inp.topics)]
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
        if self.raster is not None:
            self.create_timer(cfg.raster.period_s, self.publish_raster, callback_group=group)
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
        with self._lock:
            self.runtime.config = config

    def _on_net_params(self, config: NetworkConfig, names: list[str]) -> None:
        with self._lock:
            flat = {n: _get(config, n) for n in names}
            self.net.update_params(flat)
            self.net_config = self.net.config
        self.get_logger().info(f'updated {flat}')

    @property
    def net(self) -> Network:
        """Return the network the runtime steps."""
        return self.runtime.net

    @property
    def counts(self) -> Counter:
        """Return the runtime's counters (input, rejected, steps, teaching, checkpoints)."""
        return self.runtime.counts

    # ------------------------------------------------------------------ input
    def _on_spikes(self, msg: SpikeEvents, k: int) -> None:
        self.take_spikes(k, msg_to_data(msg))

    def take_spikes(self, k: int, data: SpikeData) -> None:
        """Take one ``SpikeEvents`` of input ``k`` (from its topic or from an in-process node)."""
        with self._lock:
            out = self.runtime.on_spikes(
                k, data.indices, data.step_offsets, data.n_steps, data.population_size,
                data.dt_ns, data.t0_ns,
                hidden=self.runtime.config.mode != 'timer' and self._want_hidden())
        self._publish(out, data.frame_id)

    def take_input(self, topic: str) -> Callable[[SpikeData], None] | None:
        """Hand the input on resolved topic ``topic`` over to a node in this process.

        The input's subscription is destroyed; the returned callable takes the spikes
        instead (:meth:`take_spikes`). None when no input listens on ``topic``.
        """
        for k, sub in enumerate(self._input_subs):
            if sub is not None and sub.topic_name == topic:
                self.destroy_subscription(sub)
                self._input_subs[k] = None
                return lambda data, k=k: self.take_spikes(k, data)
        return None

    @property
    def readout_topic(self) -> str:
        """Return the resolved name of the readout spikes topic."""
        return self._readout_pub.topic_name

    def add_readout_sink(self, sink: Callable[[SpikeData], None]) -> None:
        """Hand the readout spikes of every stepped batch to ``sink`` in this process.

        ``sink`` gets what a subscriber of ``~/readout_spikes`` reads, before the topic is
        published (skipped then while the topic has no subscriber).
        """
        self._readout_sinks.append(sink)

    def _on_tick(self) -> None:
        with self._lock:
            out = self.runtime.tick(self.get_clock().now().nanoseconds,
                                    hidden=self._want_hidden())
        self._publish(out, '')

    def _publish(self, out: StepOutput | None, frame_id: str) -> None:
        if out is None:
            return
        self._last_input_ns = out.t0_ns
        if self._readout_sinks:
            data = spike_data(out.readout_indices, out.readout_offsets, out.n_steps, out.t0_ns,
                              self.dt_ns, self.n_readout, frame_id)
            for sink in self._readout_sinks:
                sink(data)
        if not self._readout_sinks or self._readout_pub.get_subscription_count():
            self._readout_pub.publish(spike_events(
                out.readout_indices, out.readout_offsets, out.n_steps, out.t0_ns, self.dt_ns,
                self.n_readout, frame_id))
        if self.raster is not None:
            self.raster.add(out)
        if out.hidden_indices is not None and self._publish_hidden:
            self._hidden_pub.publish(spike_events(
                out.hidden_indices, out.hidden_offsets, out.n_steps, out.t0_ns, self.dt_ns,
                self.n_hidden_total, frame_id))

    def _want_hidden(self) -> bool:
        """Say whether this batch needs hidden spikes (raster, or a rate-limited message)."""
        hc = self.node_params.config.hidden
        self._publish_hidden = False
        if hc.publish:
            now = time.monotonic()
            if now - self._last_hidden_pub >= 1.0 / hc.max_rate_hz:
                self._last_hidden_pub = now
                self._publish_hidden = True
        return self._publish_hidden or self.raster is not None

    def publish_raster(self) -> None:
        """Publish the rolling spike raster as a mono8 image (rows neurons, columns steps)."""
        with self._lock:
            img = self.raster.image()
        msg = Image(height=img.shape[0], width=img.shape[1], encoding='mono8', is_bigendian=0,
                    step=img.shape[1])
        ns_to_stamp(self._last_input_ns, msg.header.stamp)
        msg.header.frame_id = 'snn_raster'
        msg.data = img.tobytes()
        self._raster_pub.publish(msg)

    # ------------------------------------------------------------------ teaching
    def _on_label(self, msg: Int32) -> None:
        with self._lock:
            self.runtime.on_label(int(msg.data))

    def _on_reward(self, msg: Float32) -> None:
        with self._lock:
            self.runtime.on_reward(float(msg.data))

    def _on_error(self, msg: Float32MultiArray) -> None:
        with self._lock:
            self.runtime.on_error(np.asarray(msg.data, dtype=np.float64))

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
            self.runtime.net = net
            self.runtime.clear_queues()
        res.success, res.message = True, f'loaded {path} at step {net.t}'
        return res

    def _srv_reset(self, req: Trigger.Request, res: Trigger.Response):
        with self._lock:
            self.net.reset_state()
            self.runtime.clear_queues()
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
        out = self.runtime.counters()
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
        rejected = values['rejected_messages']
        publish_diagnostics(self, self._diag_pub, 'snn_core', 'snn_ros', values,
                            f'{rejected} rejected messages' if rejected else '')


def _get(config: Any, dotted: str) -> Any:
    for part in dotted.split('.'):
        config = getattr(config, part)
    return config


def main(args: Any = None) -> None:
    """Run the node (``ros2 run snn_ros snn_core_node``); save the checkpoint on exit."""
    run(SnnCoreNode, args, on_exit=SnnCoreNode.shutdown_save)


if __name__ == '__main__':
    main()
