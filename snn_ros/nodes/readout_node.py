"""Readout node: readout spikes -> ``Decision`` and ``geometry_msgs/Twist`` with a watchdog."""

from __future__ import annotations

from typing import Any, Callable

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Twist
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy

from snn_ros.msg import Decision, LearningStatus, SpikeEvents
from snn_ros.nodes.common import publish_diagnostics, run
from snn_ros.nodes.convert import msg_to_data, ns_to_stamp, SpikeData
from snn_ros.nodes.params import ParameterBinding
from snn_ros.nodes.ratelimit import RateLimitedErrors
from snn_ros.runtime import ReadoutDecision, ReadoutNodeConfig, ReadoutRuntime

__all__ = ['main', 'ReadoutNode', 'ReadoutNodeConfig']

RELIABLE = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
COMMAND_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


class ReadoutNode(Node):
    """Count readout spikes per class over windows of steps; publish decisions and commands.

    Subscribes ``snn_core/readout_spikes`` (``SpikeEvents``, reliable) and ``snn_core/status``
    (for ``Decision.learning_enabled``); publishes ``~/decision`` (``Decision``, stamp = input
    time of the window's last step) and ``cmd_vel`` (``Twist``, reliable), one of each per
    window; the watchdog publishes a zero ``Twist`` every ``watchdog.period_s`` while input
    is stale. Windows count steps, not wall time, so replay is deterministic. The node only
    converts messages: the logic is :class:`snn_ros.runtime.ReadoutRuntime`, which the
    offline replay runs too.
    """

    def __init__(self, node_name: str = 'readout', **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.params = ParameterBinding(self, ReadoutNodeConfig, on_change=self._on_params)
        cfg = self.params.config
        self.errors = RateLimitedErrors(self.get_logger(), cfg.error_log_period_s)
        self.runtime = ReadoutRuntime(cfg, on_reject=self.errors.error)
        self.n_classes = cfg.n_classes
        self._learning = False
        self._decision_pub = self.create_publisher(Decision, '~/decision', COMMAND_QOS)
        self._cmd_pub = self.create_publisher(Twist, 'cmd_vel', COMMAND_QOS)
        self._spikes_sub = self.create_subscription(
            SpikeEvents, 'snn_core/readout_spikes', self._on_spikes, RELIABLE)
        self.create_subscription(LearningStatus, 'snn_core/status', self._on_status,
                                 COMMAND_QOS)
        self._diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', COMMAND_QOS)
        self.create_timer(cfg.watchdog.period_s, self._watchdog)
        self.create_timer(cfg.diagnostics_period_s, self.publish_diagnostics)

    @property
    def decisions(self) -> int:
        """Return the number of decisions published."""
        return self.runtime.decisions

    @property
    def zero_commands(self) -> int:
        """Return the number of zero commands the watchdog published."""
        return self.runtime.zero_commands

    @property
    def stale(self) -> bool:
        """Return True while the readout input is stale and the command is zero."""
        return self.runtime.stale

    def _on_params(self, config: ReadoutNodeConfig, names: list[str]) -> None:
        self.errors._period_s = config.error_log_period_s
        self.runtime.config = config

    def _on_status(self, msg: LearningStatus) -> None:
        self._learning = bool(msg.learning_enabled)

    def _on_spikes(self, msg: SpikeEvents) -> None:
        self.take_spikes(msg_to_data(msg))

    def take_spikes(self, data: SpikeData) -> None:
        """Count one readout ``SpikeEvents`` (from the topic or an in-process core)."""
        for d in self.runtime.on_spikes(
                data.indices, data.step_offsets, data.n_steps, data.population_size,
                data.t0_ns, data.dt_ns, self.get_clock().now().nanoseconds):
            self._publish(d, data.frame_id)

    def take_input(self, topic: str) -> Callable[[SpikeData], None] | None:
        """Hand the readout spikes on resolved topic ``topic`` over to a node in this process.

        The subscription is destroyed and :meth:`take_spikes` returned; None when the
        readout does not listen on ``topic`` (or already handed it over).
        """
        if self._spikes_sub is None or self._spikes_sub.topic_name != topic:
            return None
        self.destroy_subscription(self._spikes_sub)
        self._spikes_sub = None
        return self.take_spikes

    def _publish(self, d: ReadoutDecision, frame_id: str) -> None:
        msg = Decision()
        ns_to_stamp(d.stamp_ns, msg.header.stamp)
        msg.header.frame_id = frame_id
        msg.class_index = d.class_index
        msg.class_name = d.class_name
        msg.spike_counts = d.spike_counts
        msg.margin = d.margin
        msg.confidence = d.confidence
        msg.window_steps = d.window_steps
        msg.learning_enabled = self._learning
        self._decision_pub.publish(msg)
        twist = Twist()
        twist.linear.x, twist.angular.z = d.command
        self._cmd_pub.publish(twist)

    def _watchdog(self) -> None:
        stale, newly = self.runtime.watchdog(self.get_clock().now().nanoseconds)
        if not stale:
            return
        if newly:
            deadline = self.params.config.watchdog.deadline_s
            self.get_logger().warning(f'readout input stale for more than {deadline} s: '
                                      'commanding zero velocity')
        self._cmd_pub.publish(Twist())

    def counters(self) -> dict[str, int]:
        """Return decision, watchdog and rejection counts."""
        out = {'decisions': self.decisions, 'zero_commands': self.zero_commands,
               'rejected_messages': self.errors.total, 'stale': int(self.stale)}
        out.update(self.errors.as_dict())
        return out

    def publish_diagnostics(self) -> None:
        """Publish the counters on ``/diagnostics``."""
        counts = self.counters()
        publish_diagnostics(self, self._diag_pub, 'readout', 'snn_ros', counts,
                            'input stale: zero command' if self.stale else '')


def main(args: Any = None) -> None:
    """Run the node (``ros2 run snn_ros readout_node``)."""
    run(ReadoutNode, args)


if __name__ == '__main__':
    main()
