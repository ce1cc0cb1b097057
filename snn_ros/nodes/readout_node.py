"""Readout node: readout spikes -> ``Decision`` and ``geometry_msgs/Twist`` with a watchdog."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Twist
import numpy as np
import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy

from snn_ros.msg import Decision, LearningStatus, SpikeEvents
from snn_ros.nodes.convert import ns_to_stamp, stamp_to_ns, u32_view
from snn_ros.nodes.params import ParameterBinding
from snn_ros.nodes.ratelimit import RateLimitedErrors

RELIABLE = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
COMMAND_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


def _p(default: Any, description: str, lo: float | None = None, hi: float | None = None, *,
       read_only: bool = False, **extra: Any) -> Any:
    meta = {'description': description, 'min': lo, 'max': hi, 'read_only': read_only}
    meta.update(extra)
    return field(default=default, metadata=meta)


def _group(cls: type) -> Any:
    return field(default_factory=cls, metadata={'group': True})


@dataclass(frozen=True)
class ControlConfig:
    """Decision -> velocity command: a class table or a population code, limits, smoothing."""

    mode: str = _p('table', "'table': per-class command from table_linear_x/table_angular_z; "
                   "'population': classes are preferred angular rates spread over "
                   '[-1, 1] (spike-count weighted mean), linear = gain_linear * confidence',
                   read_only=True, choices=('table', 'population'))
    table_linear_x: tuple[float, ...] = _p((), 'linear.x per class (m/s, before gain); empty '
                                           '= 0', item_type=float)
    table_angular_z: tuple[float, ...] = _p((), 'angular.z per class (rad/s, before gain); '
                                            'empty = 0', item_type=float)
    gain_linear: float = _p(1.0, 'gain on linear.x', -100.0, 100.0)
    gain_angular: float = _p(1.0, 'gain on angular.z', -100.0, 100.0)
    max_linear: float = _p(0.5, 'limit of |linear.x| (m/s)', 0.0, 100.0)
    max_angular: float = _p(1.0, 'limit of |angular.z| (rad/s)', 0.0, 100.0)
    smoothing: float = _p(0.0, 'exponential smoothing: out = s * previous + (1 - s) * target',
                          0.0, 0.99)
    min_confidence: float = _p(0.0, 'below this decision confidence the command is zero',
                               0.0, 1.0)

    def __post_init__(self) -> None:
        """Check the option string."""
        if self.mode not in ('table', 'population'):
            raise ValueError(f'control.mode: {self.mode!r} is not one of '
                             "['table', 'population']")


@dataclass(frozen=True)
class WatchdogConfig:
    """Zero command when the readout input goes stale."""

    deadline_s: float = _p(0.5, 'publish a zero command when no readout spikes arrived for '
                           'this long (node clock, so sim time when use_sim_time)', 0.001, 3600.0)
    period_s: float = _p(0.05, 'watchdog check period', 0.001, 60.0, read_only=True)


@dataclass(frozen=True)
class ReadoutNodeConfig:
    """Decision window, class names and the command mapping."""

    n_classes: int = _p(10, 'number of classes; readout neuron i belongs to class '
                        'i // (population_size / n_classes)', 2, 10000, read_only=True)
    class_names: tuple[str, ...] = _p((), "class names (Decision.class_name); empty = ''",
                                      read_only=True, item_type=str)
    window_steps: int = _p(100, 'steps of readout spikes per decision', 1, 1 << 30)
    control: ControlConfig = _group(ControlConfig)
    watchdog: WatchdogConfig = _group(WatchdogConfig)
    error_log_period_s: float = _p(5.0, 'log each kind of rejected input at most once per '
                                   'this period (all are counted)', 0.0, 3600.0)
    diagnostics_period_s: float = _p(1.0, 'period of the counters on /diagnostics', 0.05,
                                     3600.0, read_only=True)

    def __post_init__(self) -> None:
        """Check table and name lengths against ``n_classes``."""
        for name in ('table_linear_x', 'table_angular_z'):
            n = len(getattr(self.control, name))
            if n not in (0, self.n_classes):
                raise ValueError(f'control.{name}: {n} values for {self.n_classes} classes')
        if len(self.class_names) not in (0, self.n_classes):
            raise ValueError(f'class_names: {len(self.class_names)} names for '
                             f'{self.n_classes} classes')


class ReadoutNode(Node):
    """Count readout spikes per class over windows of steps; publish decisions and commands.

    Subscribes ``snn_core/readout_spikes`` (``SpikeEvents``, reliable) and ``snn_core/status``
    (for ``Decision.learning_enabled``); publishes ``~/decision`` (``Decision``, stamp = input
    time of the window's last step) and ``cmd_vel`` (``Twist``, reliable), one of each per
    window; the watchdog publishes a zero ``Twist`` every ``watchdog.period_s`` while input
    is stale. Windows count steps, not wall time, so replay is deterministic.
    """

    def __init__(self, node_name: str = 'readout', **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.params = ParameterBinding(self, ReadoutNodeConfig, on_change=self._on_params)
        cfg = self.params.config
        self.errors = RateLimitedErrors(self.get_logger(), cfg.error_log_period_s)
        self.n_classes = cfg.n_classes
        self._counts = np.zeros(self.n_classes, np.int64)
        self._steps = 0
        self._cmd = np.zeros(2)
        self._learning = False
        self._last_input = None
        self.stale = True
        self.decisions = 0
        self.zero_commands = 0
        self._decision_pub = self.create_publisher(Decision, '~/decision', COMMAND_QOS)
        self._cmd_pub = self.create_publisher(Twist, 'cmd_vel', COMMAND_QOS)
        self.create_subscription(SpikeEvents, 'snn_core/readout_spikes', self._on_spikes,
                                 RELIABLE)
        self.create_subscription(LearningStatus, 'snn_core/status', self._on_status,
                                 COMMAND_QOS)
        self._diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', COMMAND_QOS)
        self.create_timer(cfg.watchdog.period_s, self._watchdog)
        self.create_timer(cfg.diagnostics_period_s, self.publish_diagnostics)

    def _on_params(self, config: ReadoutNodeConfig, names: list[str]) -> None:
        self.errors._period_s = config.error_log_period_s

    def _on_status(self, msg: LearningStatus) -> None:
        self._learning = bool(msg.learning_enabled)

    def _on_spikes(self, msg: SpikeEvents) -> None:
        pop = int(msg.population_size)
        n_steps = int(msg.n_steps)
        idx = u32_view(msg.indices)
        off = u32_view(msg.step_offsets)
        if pop == 0 or pop % self.n_classes:
            self.errors.error('population_size', f'population_size {pop} is not a multiple '
                              f'of n_classes {self.n_classes}')
            return
        if idx.size != off.size or (idx.size and (int(idx.max()) >= pop
                                                  or int(off.max()) >= n_steps)):
            self.errors.error('shape', 'indices/step_offsets malformed or out of range')
            return
        self._last_input = self.get_clock().now()
        self.stale = False
        per_class = pop // self.n_classes
        cls = idx.astype(np.int64) // per_class
        t0 = stamp_to_ns(msg.header.stamp)
        dt = int(msg.dt_ns)
        window = self.params.config.window_steps
        s = 0
        while s < n_steps:
            take = min(window - self._steps, n_steps - s)
            lo, hi = np.searchsorted(off, [s, s + take])
            np.add.at(self._counts, cls[lo:hi], 1)
            self._steps += take
            s += take
            if self._steps >= window:
                self._decide(t0 + (s - 1) * dt, msg.header.frame_id)

    def _decide(self, stamp_ns: int, frame_id: str) -> None:
        cfg = self.params.config
        z = self._counts
        total = int(z.sum())
        msg = Decision()
        ns_to_stamp(stamp_ns, msg.header.stamp)
        msg.header.frame_id = frame_id
        msg.spike_counts = [int(v) for v in z]
        msg.window_steps = int(self._steps)
        msg.learning_enabled = self._learning
        if total:
            label = int(np.argmax(z))
            rival = int(np.max(np.delete(z, label)))
            msg.class_index = label
            msg.margin = float(z[label] - rival)
            msg.confidence = float(msg.margin / total)
            if cfg.class_names:
                msg.class_name = cfg.class_names[label]
        else:
            msg.class_index = -1
        self._decision_pub.publish(msg)
        self.decisions += 1
        self._publish_command(self._target(msg, z), stamp_ns)
        self._counts[:] = 0
        self._steps = 0

    def _target(self, decision: Decision, z: np.ndarray) -> np.ndarray:
        ctl = self.params.config.control
        if decision.class_index < 0 or decision.confidence < ctl.min_confidence:
            return np.zeros(2)
        if ctl.mode == 'table':
            c = decision.class_index
            lin = ctl.table_linear_x[c] if ctl.table_linear_x else 0.0
            ang = ctl.table_angular_z[c] if ctl.table_angular_z else 0.0
        else:
            pref = np.linspace(-1.0, 1.0, self.n_classes)
            ang = float(np.dot(z, pref) / z.sum())
            lin = float(decision.confidence)
        return np.array([ctl.gain_linear * lin, ctl.gain_angular * ang])

    def _publish_command(self, target: np.ndarray, stamp_ns: int | None = None) -> None:
        ctl = self.params.config.control
        s = ctl.smoothing
        cmd = s * self._cmd + (1.0 - s) * target
        cmd[0] = float(np.clip(cmd[0], -ctl.max_linear, ctl.max_linear))
        cmd[1] = float(np.clip(cmd[1], -ctl.max_angular, ctl.max_angular))
        self._cmd = cmd
        twist = Twist()
        twist.linear.x = float(cmd[0])
        twist.angular.z = float(cmd[1])
        self._cmd_pub.publish(twist)

    def _watchdog(self) -> None:
        deadline = self.params.config.watchdog.deadline_s
        now = self.get_clock().now()
        if self._last_input is not None and (now - self._last_input).nanoseconds < deadline * 1e9:
            return
        if not self.stale:
            self.get_logger().warning(f'readout input stale for more than {deadline} s: '
                                      'commanding zero velocity')
        self.stale = True
        self._cmd = np.zeros(2)
        self._cmd_pub.publish(Twist())
        self.zero_commands += 1

    def counters(self) -> dict[str, int]:
        """Return decision, watchdog and rejection counts."""
        out = {'decisions': self.decisions, 'zero_commands': self.zero_commands,
               'rejected_messages': self.errors.total, 'stale': int(self.stale)}
        out.update(self.errors.as_dict())
        return out

    def publish_diagnostics(self) -> None:
        """Publish the counters on ``/diagnostics``."""
        counts = self.counters()
        status = DiagnosticStatus(name=f'{self.get_fully_qualified_name()}: readout',
                                  hardware_id='snn_ros')
        status.level = DiagnosticStatus.WARN if self.stale else DiagnosticStatus.OK
        status.message = 'input stale: zero command' if self.stale else 'ok'
        status.values = [KeyValue(key=k, value=str(v)) for k, v in counts.items()]
        diag = DiagnosticArray(status=[status])
        diag.header.stamp = self.get_clock().now().to_msg()
        self._diag_pub.publish(diag)


def main(args: Any = None) -> None:
    """Run the node (``ros2 run snn_ros readout_node``)."""
    rclpy.init(args=args)
    node = None
    try:
        node = ReadoutNode()
        rclpy.spin(node)
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    main()
