"""The graph in one process: EventPackets in, Decisions and Twists out; teaching, reward, watchdog.

Real rclpy nodes on real DDS (localhost), one executor. The core runs in mode 'data', so each
decision window is exactly one generated packet and the results do not depend on timing.
"""

from __future__ import annotations

import os
from pathlib import Path
import subprocess
import sys
import textwrap

import numpy as np
import pytest

rclpy = pytest.importorskip('rclpy')
from geometry_msgs.msg import Twist  # noqa: E402
from std_msgs.msg import Float32, Int32  # noqa: E402
from std_srvs.srv import SetBool  # noqa: E402

from event_camera_msgs.msg import EventPacket  # noqa: E402
from snn_ros.msg import Decision, SpikeEvents  # noqa: E402
from snn_ros.nodes.composed import link_in_process  # noqa: E402
from snn_ros.nodes.convert import msg_to_data, spike_data, spike_events  # noqa: E402
from snn_ros.nodes.event_camera_node import EventCameraNode  # noqa: E402
from snn_ros.nodes.readout_node import ReadoutNode  # noqa: E402
from snn_ros.nodes.snn_core_node import SnnCoreNode  # noqa: E402

from _graph import CAMERA, CORE, EventStream, Graph, params, READOUT  # noqa: E402
from conftest import SHARED_DATA  # noqa: E402

pytestmark = pytest.mark.ros
EVENTS = '/event_camera/events'


@pytest.fixture
def graph():
    g = Graph()
    ctx = g.context
    g.camera = g.add(EventCameraNode(context=ctx, parameter_overrides=params(CAMERA)))
    g.core = g.add(SnnCoreNode(context=ctx, parameter_overrides=params(CORE)))
    g.readout = g.add(ReadoutNode(context=ctx, parameter_overrides=params(READOUT)))
    g.decisions = g.listen(Decision, '/readout/decision')
    g.twists = g.listen(Twist, '/cmd_vel')
    g.readout_spikes = g.listen(SpikeEvents, '/snn_core/readout_spikes')
    g.publisher(EventPacket, EVENTS)
    g.wait_for_subscribers(EVENTS)
    yield g
    g.close()


def feed(g, stream, side, n=1):
    """Publish ``n`` packets of ``side`` one at a time; return the decisions they produced."""
    out = []
    for _ in range(n):
        before = len(g.decisions)
        g.publish(EventPacket, EVENTS, stream.packet(side))
        assert g.spin_until(lambda: len(g.decisions) > before), 'no decision'
        out.extend(g.decisions[before:])
    return out


def send_and_wait(g, msg_type, topic, msg, counter):
    before = g.core.counts[counter]
    g.publish(msg_type, topic, msg)
    assert g.spin_until(lambda: g.core.counts[counter] > before)


def share(decisions, cls):
    counts = np.sum([list(d.spike_counts) for d in decisions], axis=0)
    return counts[cls] / max(counts.sum(), 1)


def test_event_packets_in_decisions_and_twists_out(graph):
    g = graph
    stream = EventStream(seed=1)
    decisions = feed(g, stream, 0, 3) + feed(g, stream, 1, 3)
    assert len(decisions) == 6
    assert all(d.window_steps == 20 for d in decisions)
    assert all(d.class_index in (-1, 0, 1) for d in decisions)
    assert sum(sum(d.spike_counts) for d in decisions) > 0, 'readout never spiked'
    # header stamp = input time of the window's last step (event time, 20 ms windows)
    stamps = [d.header.stamp.sec * 10**9 + d.header.stamp.nanosec for d in decisions]
    assert stamps == [(20 * (k + 1) - 1) * 10**6 for k in range(6)]
    assert g.spin_until(lambda: len(g.twists) >= 6)
    assert max(abs(t.linear.x) for t in g.twists) > 0.0
    assert g.camera.counters()['decoded'] == 6 and g.camera.counters()['rejected'] == 0
    assert g.core.counts['steps'] == 120 and g.core.counts['rejected_messages'] == 0


def test_teaching_on_label_changes_later_decisions(graph):
    g = graph
    stream = EventStream(seed=2)
    g.call(SetBool, '/snn_core/set_learning', SetBool.Request(data=False))
    before = feed(g, stream, 0, 4)
    assert g.call(SetBool, '/snn_core/set_learning', SetBool.Request(data=True)).success
    target = 1 - int(np.argmax(np.sum([list(d.spike_counts) for d in before], axis=0)))
    send_and_wait(g, Int32, '/snn_core/label', Int32(data=target), 'labels')
    feed(g, stream, 0, 25)
    send_and_wait(g, Int32, '/snn_core/label', Int32(data=-1), 'labels')
    assert g.core.counts['teach_events'] >= 20
    assert g.call(SetBool, '/snn_core/set_learning', SetBool.Request(data=False)).success
    assert g.core.get_parameter('plasticity.learning').value is False
    after = feed(g, stream, 0, 4)
    assert share(after, target) > share(before, target) + 0.2, (
        [list(d.spike_counts) for d in before], [list(d.spike_counts) for d in after])
    assert sum(d.class_index == target for d in after) > sum(
        d.class_index == target for d in before)


def test_reward_alone_changes_behaviour(graph):
    """Task: answer class 1 to left-side input; +1 reward when it does, -1 when not."""
    g = graph
    stream = EventStream(seed=3)
    g.call(SetBool, '/snn_core/set_learning', SetBool.Request(data=False))
    before = feed(g, stream, 0, 4)
    g.call(SetBool, '/snn_core/set_learning', SetBool.Request(data=True))
    for _ in range(30):
        (decision,) = feed(g, stream, 0, 1)
        reward = 1.0 if decision.class_index == 1 else -1.0
        send_and_wait(g, Float32, '/snn_core/reward', Float32(data=reward), 'rewards')
    g.call(SetBool, '/snn_core/set_learning', SetBool.Request(data=False))
    after = feed(g, stream, 0, 4)
    assert g.core.counts['labels'] == 0 and g.core.counts['rewards'] == 30
    assert share(after, 1) > share(before, 1) + 0.1, (
        [list(d.spike_counts) for d in before], [list(d.spike_counts) for d in after])


def test_watchdog_zeroes_command_when_input_stops(graph):
    g = graph
    stream = EventStream(seed=4)
    feed(g, stream, 0, 3)
    assert g.spin_until(lambda: any(t.linear.x != 0.0 for t in g.twists))
    n = len(g.twists)
    assert not g.readout.stale
    zero = (lambda t: (t.linear.x, t.linear.y, t.linear.z, t.angular.x, t.angular.y,
                       t.angular.z) == (0.0,) * 6)
    assert g.spin_until(lambda: g.readout.stale and len(g.twists) > n and zero(g.twists[-1]))
    count = g.readout.zero_commands
    assert count >= 1
    g.spin_until(lambda: g.readout.zero_commands > count + 2)  # keeps commanding zero
    assert all(zero(t) for t in g.twists[-3:])


def test_real_recording_through_the_graph(graph):
    """Packets of a real evt3 recording (ros-event-bags) go in; decisions come out."""
    bag = SHARED_DATA / 'ros-event-bags' / 'event_camera_py' / 'test_events_1'
    if not bag.is_dir():
        pytest.skip(f'recording not present at {bag}')
    from snn_ros.adapters.event_camera import read_event_packets
    g = graph
    g.camera.adapter.reset()
    n = 0
    for k, rec in enumerate(read_event_packets(bag)):
        if k >= 120:
            break
        msg = EventPacket(height=rec.height, width=rec.width, seq=rec.seq,
                          time_base=rec.time_base, encoding=rec.encoding,
                          is_bigendian=bool(rec.is_bigendian))
        msg.header.stamp.sec, msg.header.stamp.nanosec = rec.header.stamp.sec, \
            rec.header.stamp.nanosec
        msg.events = bytes(rec.events)
        g.publish(EventPacket, EVENTS, msg)
        n += 1
        g.spin_until(lambda: g.camera.counters()['received'] >= n, 10.0)
    assert g.spin_until(lambda: g.core.counts['input_messages'] >= g.camera.published)
    counters = g.camera.counters()
    assert counters['received'] == n and counters['rejected'] == 0, counters
    assert counters['spikes'] > 1000
    assert g.core.counts['rejected_messages'] == 0
    assert g.spin_until(lambda: len(g.decisions) >= 5)
    stamps = [d.header.stamp.sec * 10**9 + d.header.stamp.nanosec for d in g.decisions]
    assert stamps == sorted(set(stamps)), 'a step was run twice or out of order'
    # packets cut inside a step are not stepped twice: network time follows sensor time
    first_ms = (stamps[0] - 19 * 10**6) // 10**6
    span_ms = g.camera.adapter.decoder.last_t_ns // 10**6 - first_ms + 1
    assert g.core.net.t <= span_ms, (g.core.net.t, span_ms)


def test_spike_data_is_what_a_subscriber_reads():
    """The in-process hand-over passes the values, dtypes and stamp a SpikeEvents carries."""
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 1536, 300)  # int64 like the core's readout spikes
    off = np.sort(rng.integers(0, 10, 300)).astype(np.uint32)
    for t0 in (-5, 0, 123_456_789_012):
        ref = msg_to_data(spike_events(idx, off, 10, t0, 10**6, 1536, 'cam'))
        got = spike_data(idx, off, 10, t0, 10**6, 1536, 'cam')
        assert got._fields == ref._fields
        for a, b in zip(got, ref):
            if isinstance(a, np.ndarray):
                assert a.dtype == b.dtype == np.uint32 and np.array_equal(a, b)
            else:
                assert type(a) is type(b) and a == b
    got = spike_data(off, off, 10, 0, 10**6, 1536)
    assert not np.shares_memory(got.step_offsets, off), 'must not alias the producer buffer'


def _run_graph(direct, n_packets=12):
    """Feed one seeded stream (learning on, teaching a label); return what came out."""
    g = Graph()
    try:
        ctx = g.context
        core_params = dict(CORE, status_period_s=3600.0)  # no wall-clock flush (bitwise runs)
        g.camera = g.add(EventCameraNode(context=ctx, parameter_overrides=params(CAMERA)))
        g.core = g.add(SnnCoreNode(context=ctx, parameter_overrides=params(core_params)))
        g.readout = g.add(ReadoutNode(context=ctx, parameter_overrides=params(READOUT)))
        linked = link_in_process(g.nodes) if direct else []
        g.decisions = g.listen(Decision, '/readout/decision')
        spikes = g.listen(SpikeEvents, '/event_camera/spikes')
        readout_spikes = g.listen(SpikeEvents, '/snn_core/readout_spikes')
        g.publisher(EventPacket, EVENTS)
        g.wait_for_subscribers(EVENTS)
        # the topics are still published to the probe: wait until it (and the nodes) matched
        want = 1 if direct else 2
        assert g.spin_until(lambda: g.camera._pub.get_subscription_count() >= want
                            and g.core._readout_pub.get_subscription_count() >= want)
        send_and_wait(g, Int32, '/snn_core/label', Int32(data=1), 'labels')
        stream = EventStream(seed=5)
        for k in range(n_packets):
            feed(g, stream, k % 2)
        assert g.spin_until(lambda: len(spikes) == len(readout_spikes) == n_packets)
        return {
            'linked': linked,
            'decisions': [(d.header.stamp.sec, d.header.stamp.nanosec, d.class_index,
                           list(d.spike_counts)) for d in g.decisions],
            'spikes': [(list(s.indices), list(s.step_offsets), s.n_steps) for s in spikes],
            'readout_spikes': [(list(s.indices), list(s.step_offsets)) for s in readout_spikes],
            'teach': g.core.counts['teach_events'], 'steps': g.core.counts['steps'],
            'subscriptions': sorted(s.topic_name for s in g.core.subscriptions)
            + sorted(s.topic_name for s in g.readout.subscriptions),
        }
    finally:
        g.close()


def test_in_process_hand_over_equals_dds():
    """Direct calls between adapter, core and readout give bit-identical results, topics kept."""
    dds = _run_graph(direct=False)
    direct = _run_graph(direct=True)
    assert direct['linked'] == ['/event_camera/spikes', '/snn_core/readout_spikes']
    assert '/event_camera/spikes' in dds['subscriptions']
    assert '/event_camera/spikes' not in direct['subscriptions']
    assert '/snn_core/readout_spikes' not in direct['subscriptions']
    assert len(dds['decisions']) == 12 and dds['teach'] >= 10
    assert sum(sum(d[3]) for d in dds['decisions']) > 0, 'readout never spiked'
    for key in ('decisions', 'spikes', 'readout_spikes', 'teach', 'steps'):
        assert direct[key] == dds[key], key


BLAS_PROBE = textwrap.dedent("""
    import os, sys
    seen = []

    class Hook:
        def find_spec(self, name, path=None, target=None):
            if name == 'numpy':
                seen.append(os.environ.get('OPENBLAS_NUM_THREADS', 'unset'))

    sys.meta_path.insert(0, Hook())
    import snn_ros.nodes.composed  # noqa
    print(seen[0] if seen else 'numpy not loaded')
""")


@pytest.mark.parametrize('preset, expected', [(None, '1'), ('3', '3')])
def test_node_processes_set_one_blas_thread_before_numpy_loads(preset, expected):
    """Node processes: OPENBLAS_NUM_THREADS=1 is in place when numpy loads (a user's wins)."""
    env = {k: v for k, v in os.environ.items() if k != 'OPENBLAS_NUM_THREADS'}
    if preset is not None:
        env['OPENBLAS_NUM_THREADS'] = preset
    out = subprocess.run([sys.executable, '-c', BLAS_PROBE], env=env, capture_output=True,
                         text=True, timeout=120, cwd=Path(__file__).resolve().parent.parent)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == expected
