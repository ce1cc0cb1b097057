"""A checkpoint saved by one node and loaded by a new one gives the same decisions.

Same input in mode 'data'; shutdown saves; a bad checkpoint is refused by the service.
"""

from __future__ import annotations

import numpy as np
import pytest

rclpy = pytest.importorskip('rclpy')
from std_msgs.msg import Int32  # noqa: E402

from snn_ros.msg import Decision, SpikeEvents  # noqa: E402
from snn_ros.nodes.convert import spike_events, u32_view  # noqa: E402
from snn_ros.nodes.readout_node import ReadoutNode  # noqa: E402
from snn_ros.nodes.snn_core_node import SnnCoreNode  # noqa: E402
from snn_ros.srv import Checkpoint  # noqa: E402

from _graph import CORE, Graph, params, READOUT, WINDOW  # noqa: E402

pytestmark = pytest.mark.ros
IN = '/in/spikes'


def _inputs(seed, n, first=0):
    """Spike messages, one window each, alternating left/right halves of 128 channels."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(first, first + n):
        idx = rng.integers(0, 64, 1200) + 64 * (k % 2)
        off = np.sort(rng.integers(0, WINDOW, 1200))
        out.append(spike_events(idx, off, WINDOW, k * WINDOW * 10**6, 10**6, 128))
    return out


def _run(g, core, msgs, labels=None):
    """Feed messages one by one; return readout spikes per message."""
    spikes = g.received['/snn_core/readout_spikes']
    start = len(spikes)
    for k, msg in enumerate(msgs):
        if labels is not None:
            before = core.counts['labels']
            g.publish(Int32, '/snn_core/label', Int32(data=labels[k]))
            assert g.spin_until(lambda: core.counts['labels'] > before)
        g.publish(SpikeEvents, IN, msg)
        assert g.spin_until(lambda: len(spikes) > start + k)
    return [(u32_view(m.indices).tolist(), u32_view(m.step_offsets).tolist())
            for m in spikes[start:]]


def _graph(checkpoint=''):
    g = Graph()
    core = g.add(SnnCoreNode(context=g.context, parameter_overrides=params(dict(
        CORE, **{'inputs.topics': [IN], 'checkpoint': checkpoint}))))
    g.listen(SpikeEvents, '/snn_core/readout_spikes')
    g.publisher(SpikeEvents, IN)
    g.wait_for_subscribers(IN)
    return g, core


def _decisions(g, core, msgs):
    """Fresh readout node, feed msgs; return decisions as tuples."""
    readout = g.add(ReadoutNode(context=g.context, parameter_overrides=params(READOUT)))
    decisions = g.listen(Decision, '/readout/decision')
    g.spin_until(lambda: core.count_subscribers('/snn_core/readout_spikes') >= 2)
    spikes = _run(g, core, msgs)
    assert g.spin_until(lambda: len(decisions) >= len(msgs))
    assert readout.decisions == len(msgs)
    return spikes, [(d.class_index, tuple(d.spike_counts), d.margin) for d in decisions]


def test_checkpoint_round_trip_gives_same_decisions(tmp_path):
    path = tmp_path / 'ckpt' / 'net.npz'
    train, test = _inputs(1, 16), _inputs(2, 6, first=16)
    g, core = _graph()
    try:
        # the last label (-1) ends teaching inside training, so no teaching state is pending
        _run(g, core, train, labels=[k % 2 for k in range(15)] + [-1])
        assert core.counts['teach_events'] == 15
        res = g.call(Checkpoint, '/snn_core/save_checkpoint', Checkpoint.Request(path=str(path)))
        assert res.success, res.message
        assert path.is_file()
        step = core.net.t
        spikes_a, decisions_a = _decisions(g, core, test)
    finally:
        g.close()
    g, core = _graph(checkpoint=str(path))
    try:
        assert core.net.t == step
        spikes_b, decisions_b = _decisions(g, core, test)
    finally:
        g.close()
    assert sum(len(s[0]) for s in spikes_a) > 0, 'readout silent: nothing compared'
    assert spikes_a == spikes_b
    assert decisions_a == decisions_b


def test_shutdown_save_and_load_service(tmp_path):
    path = tmp_path / 'auto.npz'
    g, core = _graph(checkpoint=str(path))
    try:
        _run(g, core, _inputs(3, 2))
        core.shutdown_save()
        assert path.is_file() and core.counts['checkpoints_saved'] == 1
        bad = tmp_path / 'bad.npz'
        bad.write_bytes(path.read_bytes()[:100])
        res = g.call(Checkpoint, '/snn_core/load_checkpoint', Checkpoint.Request(path=str(bad)))
        assert not res.success and 'load failed' in res.message
        res = g.call(Checkpoint, '/snn_core/load_checkpoint', Checkpoint.Request(path=''))
        assert res.success, res.message
        assert core.net.t == 2 * WINDOW
    finally:
        g.close()
