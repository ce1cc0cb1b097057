"""The readout node: windows split across messages, population-coded command, limits, smoothing."""

from __future__ import annotations

import numpy as np
import pytest

rclpy = pytest.importorskip('rclpy')
from geometry_msgs.msg import Twist  # noqa: E402

from snn_ros.msg import Decision  # noqa: E402
from snn_ros.nodes.convert import spike_events  # noqa: E402
from snn_ros.nodes.readout_node import ReadoutNode  # noqa: E402

from _graph import Graph, params  # noqa: E402

pytestmark = pytest.mark.ros


def _spikes(counts, n_steps, t0_ns, pop=2):
    """Readout spikes: class c fires counts[c] times (neuron c * pop), spread over the steps."""
    idx = np.concatenate([np.full(n, c * pop) for c, n in enumerate(counts)]).astype(np.int64)
    off = np.sort(np.arange(idx.size) % n_steps)
    order = np.argsort(off, kind='stable')
    return spike_events(idx[order], off[order], n_steps, t0_ns, 10**6, pop * len(counts))


def test_population_code_windows_limits_and_smoothing():
    g = Graph()
    try:
        readout = g.add(ReadoutNode(context=g.context, parameter_overrides=params({
            'n_classes': 5, 'window_steps': 10, 'control.mode': 'population',
            'control.gain_linear': 1.0, 'control.gain_angular': 2.0,
            'control.max_linear': 0.5, 'control.max_angular': 1.5,
            'control.smoothing': 0.5, 'watchdog.deadline_s': 60.0})))
        decisions = g.listen(Decision, '/readout/decision')
        twists = g.listen(Twist, '/cmd_vel')
        g.spin_for(0.3)
        # 15 steps: one full window (all class 4 = preferred +1) and 5 steps carried over
        readout._on_spikes(_spikes([0, 0, 0, 0, 15], 15, 10**9))
        assert readout.decisions == 1 and readout.runtime.steps == 5
        readout._on_spikes(_spikes([5, 0, 0, 0, 0], 5, 10**9 + 15 * 10**6))
        assert readout.decisions == 2
        moving = (lambda: [(t.linear.x, t.angular.z) for t in twists
                           if t.linear.x or t.angular.z])
        assert g.spin_until(lambda: len(decisions) == 2 and len(moving()) >= 2)
        first, second = decisions
        assert first.window_steps == 10 and first.class_index == 4
        assert first.header.stamp.sec == 1 and first.header.stamp.nanosec == 9 * 10**6
        assert second.header.stamp.nanosec == 19 * 10**6
        assert second.class_index in (0, 4)
        cmds = moving()  # (the watchdog's zero commands before the first input aside)
        # target 1: angular 2.0 * (+1) -> smoothed 1.0; linear 1.0 * confidence 1 -> 0.5
        assert cmds[0] == pytest.approx((0.5, 1.0))
        assert all(abs(v) <= 0.5 + 1e-9 for v, _ in cmds)
        assert all(abs(w) <= 1.5 + 1e-9 for _, w in cmds)
        # malformed: not a multiple of the classes -> counted, nothing decided
        readout._on_spikes(_spikes([1, 1, 1], 3, 2 * 10**9))
        assert readout.errors.counts['population_size'] == 1 and readout.decisions == 2
    finally:
        g.close()
