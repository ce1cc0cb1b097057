"""Mode 'timer' with use_sim_time (the core steps on /clock), and the latched description."""

from __future__ import annotations

import json

import numpy as np
import pytest

rclpy = pytest.importorskip('rclpy')
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy  # noqa: E402
from rosgraph_msgs.msg import Clock  # noqa: E402
from std_msgs.msg import String  # noqa: E402

from snn_ros.msg import SpikeEvents  # noqa: E402
from snn_ros.nodes.convert import spike_events  # noqa: E402
from snn_ros.nodes.snn_core_node import SnnCoreNode  # noqa: E402

from _graph import CORE, Graph, params  # noqa: E402

pytestmark = pytest.mark.ros
CLOCK_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


def test_timer_mode_follows_sim_time_and_buffers_input():
    g = Graph()
    try:
        core = g.add(SnnCoreNode(context=g.context, parameter_overrides=params(dict(
            CORE, mode='timer', steps_per_tick=10, use_sim_time=True,
            **{'inputs.max_queue_steps': 30}))))
        g.publisher(Clock, '/clock', CLOCK_QOS)
        g.publisher(SpikeEvents, '/event_camera/spikes')
        g.wait_for_subscribers('/clock')
        g.wait_for_subscribers('/event_camera/spikes')
        g.spin_for(0.3)
        assert core.counts['steps'] == 0, 'stepped without /clock'
        # 50 steps of input arrive at once: 30 are kept, the 20 oldest dropped (counted)
        rng = np.random.default_rng(0)
        idx, off = rng.integers(0, 128, 500), np.sort(rng.integers(0, 50, 500))
        g.publish(SpikeEvents, '/event_camera/spikes',
                  spike_events(idx, off, 50, 10**9, 10**6, 128))
        assert g.spin_until(lambda: core.counts['input_messages'] == 1)
        assert core.counts['dropped_steps'] == 20
        readout = g.listen(SpikeEvents, '/snn_core/readout_spikes')
        t_ns = 10**9
        for _ in range(8):
            t_ns += 10_000_000
            clock = Clock()
            clock.clock.sec, clock.clock.nanosec = divmod(t_ns, 10**9)
            g.publish(Clock, '/clock', clock, CLOCK_QOS)
            g.spin_for(0.05)
        assert g.spin_until(lambda: core.counts['steps'] >= 30)
        steps = core.counts['steps']
        assert steps % 10 == 0 and steps <= 80
        g.spin_for(0.3)  # sim time stands still: no more steps
        assert core.counts['steps'] == steps
        assert g.spin_until(lambda: len(readout) >= 3)
        assert all(m.n_steps == 10 and m.population_size == 8 for m in readout)
        assert sum(core.counts[k] for k in ('input_spikes',)) == 500
    finally:
        g.close()


def test_description_is_latched():
    g = Graph()
    try:
        core = g.add(SnnCoreNode(context=g.context, parameter_overrides=params(CORE)))
        g.spin_for(0.2)  # published before anyone listens: a late subscriber still gets it
        latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        got = g.listen(String, '/snn_core/description', latched)
        assert g.spin_until(lambda: len(got) == 1)
        doc = json.loads(got[0].data)
        assert doc['network']['n_inputs'] == 128 and doc['mode'] == 'data'
        assert doc['inputs'] == [{'topic': '/event_camera/spikes', 'offset': 0, 'size': 0}]
        assert core.net_config.readout.n_readout == doc['readout_neurons']
    finally:
        g.close()
