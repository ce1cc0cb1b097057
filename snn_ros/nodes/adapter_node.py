"""Shared base of the sensor adapter nodes: sensor message in, ``SpikeEvents`` out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data, QoSProfile, ReliabilityPolicy

from snn_ros.adapters.errors import AdapterError
from snn_ros.core.params import param_field as _p
from snn_ros.msg import SpikeEvents
from snn_ros.nodes.common import publish_diagnostics
from snn_ros.nodes.convert import batch_to_data, batch_to_msg, SpikeData
from snn_ros.nodes.params import ParameterBinding
from snn_ros.nodes.ratelimit import RateLimitedErrors

SPIKES_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
DIAGNOSTICS_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


@dataclass(frozen=True)
class AdapterNodeBaseConfig:
    """Node-level settings shared by every adapter node (the adapter's own come after)."""

    diagnostics_period_s: float = _p(1.0, 'period of the counters on /diagnostics', 0.05,
                                     3600.0, read_only=True)
    error_log_period_s: float = _p(5.0, 'log each kind of rejected message at most once per '
                                   'this period (all are counted)', 0.0, 3600.0)


@dataclass(frozen=True)
class AdapterNodeConfig(AdapterNodeBaseConfig):
    """Node-level settings of an adapter whose config does not carry the time step."""

    dt_s: float = _p(0.001, 'network time step the spikes are binned to (must equal the '
                     "SNN core's dt_s)", 1e-6, 10.0, read_only=True)


class AdapterNode(Node):
    """Decode one sensor topic with an adapter and publish ``SpikeEvents`` on ``~/spikes``.

    The subscription (sensor-data QoS) only decodes: ``adapter.process(msg)`` then publish.
    In one process (``snn_ros_composed``) the spikes also go straight to the consumers added
    with :meth:`add_local_sink`, before the topic is published; with such consumers the topic
    is published only while it has a subscriber.
    A malformed message is counted, logged at most once per ``error_log_period_s`` per reason,
    and dropped; the adapter's stream state is unchanged, so the next valid message decodes.
    Every adapter config field is a parameter; a live change rebuilds the adapter (counters
    kept, stream state restarted).

    Args:
        node_name: default node name.
        adapter_cls: ``Adapter`` subclass, constructed as ``adapter_cls(config, dt_ns)``.
        config_cls: the adapter's frozen config dataclass.
        msg_type: the sensor message type.
        input_topic: the subscribed topic (private by default, remapped in launch files).
        kwargs: passed to ``Node`` (``namespace``, ``parameter_overrides``, ``cli_args``).
    """

    def __init__(self, node_name: str, *, adapter_cls: type, config_cls: type, msg_type: type,
                 input_topic: str, **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self._adapter_cls = adapter_cls
        adapter_names = _names(config_cls)
        self._dt_in_config = 'dt_ns' in adapter_names
        self._node_params = ParameterBinding(
            self, AdapterNodeBaseConfig if self._dt_in_config else AdapterNodeConfig,
            on_change=self._on_node_params)
        clash = set(self._node_params.specs) & set(adapter_names)
        if clash:
            raise ValueError(f'{config_cls.__name__} fields clash with node parameters: {clash}')
        self._adapter_params = ParameterBinding(self, config_cls,
                                                on_change=self._on_adapter_params)
        self.adapter = self._make_adapter(self._adapter_params.config)
        self._warm_up()
        self.errors = RateLimitedErrors(self.get_logger(),
                                        self._node_params.config.error_log_period_s)
        self.published = 0
        self.internal_errors = 0
        self._last_rejected = 0
        self._sinks: list[Callable[[SpikeData], None]] = []
        self._pub = self.create_publisher(SpikeEvents, '~/spikes', SPIKES_QOS)
        self._diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', DIAGNOSTICS_QOS)
        self.create_subscription(msg_type, input_topic, self._on_msg, qos_profile_sensor_data)
        self.create_timer(self._node_params.config.diagnostics_period_s, self.publish_diagnostics)
        self.get_logger().info(
            f'{adapter_cls.__name__}: {self.adapter.n_channels} channels, dt {self.dt_ns} ns, '
            f'{self.resolve_topic_name(input_topic)} -> {self.resolve_topic_name("~/spikes")}')

    @property
    def spikes_topic(self) -> str:
        """Return the resolved name of the ``SpikeEvents`` output topic."""
        return self._pub.topic_name

    def add_local_sink(self, sink: Callable[[SpikeData], None]) -> None:
        """Hand every output batch to ``sink`` in this process, as the topic would.

        ``sink`` gets what a subscriber of ``~/spikes`` reads (:class:`SpikeData`) and runs
        in this node's callback, before the topic is published.
        """
        self._sinks.append(sink)

    def warmup_message(self) -> Any:
        """Return a valid sample message to compile the adapter's kernels at start (or None)."""
        return None

    def _warm_up(self) -> None:
        sample = self.warmup_message()
        if sample is None:
            return
        try:
            self._make_adapter(self._adapter_params.config).process(sample)
        except Exception as err:  # noqa: BLE001 - warm-up is best effort
            self.get_logger().warning(f'warm-up message rejected: {err}')

    def _make_adapter(self, config: Any) -> Any:
        if self._dt_in_config:
            self.dt_ns = int(config.dt_ns)
            return self._adapter_cls(config)
        self.dt_ns = int(round(self._node_params.config.dt_s * 1e9))
        return self._adapter_cls(config, self.dt_ns)

    def _on_node_params(self, config: AdapterNodeConfig, names: list[str]) -> None:
        self.errors._period_s = config.error_log_period_s

    def _on_adapter_params(self, config: Any, names: list[str]) -> None:
        counters = self.adapter.counters
        self.adapter = self._make_adapter(config)
        self.adapter.counters = counters
        self.get_logger().info(f'adapter rebuilt after a change of {", ".join(names)}')

    def _on_msg(self, msg: Any) -> None:
        try:
            batch = self.adapter.process(msg)
        except AdapterError as err:
            self.errors.error(err.reason, f'rejected {type(msg).__name__}: {err}')
            return
        except Exception as err:  # noqa: BLE001 - a bad message must never stop the node
            self.internal_errors += 1
            self.errors.error('internal', f'{type(err).__name__} decoding '
                              f'{type(msg).__name__}: {err}')
            return
        if batch.n_steps <= 0:
            return
        frame_id = getattr(getattr(msg, 'header', None), 'frame_id', '')
        self.published += 1
        if self._sinks:
            data = batch_to_data(batch, frame_id)
            for sink in self._sinks:
                sink(data)
        if not self._sinks or self._pub.get_subscription_count():
            self._pub.publish(batch_to_msg(batch, frame_id))

    def counters(self) -> dict[str, int]:
        """Return received/decoded/rejected counts (and rejections by reason)."""
        out = self.adapter.counters.as_dict()
        out['rejected'] = out.get('rejected', 0) + self.internal_errors
        if self.internal_errors:
            out['rejected_internal'] = self.internal_errors
        out['published'] = self.published
        return out

    def publish_diagnostics(self) -> None:
        """Publish the counters on ``/diagnostics``."""
        counts = self.counters()
        rejected = counts.get('rejected', 0)
        warning = (f'{rejected - self._last_rejected} messages rejected'
                   if rejected > self._last_rejected else '')
        self._last_rejected = rejected
        publish_diagnostics(self, self._diag_pub, 'adapter', type(self.adapter).__name__,
                            counts, warning)


def _names(config_cls: type) -> list[str]:
    from snn_ros.nodes.params import describe
    return [s.name for s in describe(config_cls)]
