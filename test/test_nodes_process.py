"""Across processes: ``snn_ros_composed`` runs the graph from a params YAML.

EventPackets from this process go in, Decisions and Twists come back; Ctrl-C saves the
checkpoint.
"""

from __future__ import annotations

import os
from pathlib import Path
import signal
import subprocess
import sys

import pytest
import yaml

rclpy = pytest.importorskip('rclpy')
from geometry_msgs.msg import Twist  # noqa: E402
from std_msgs.msg import Int32  # noqa: E402

from event_camera_msgs.msg import EventPacket  # noqa: E402
from snn_ros.msg import Decision, LearningStatus  # noqa: E402

from snn_ros.core.params import nest  # noqa: E402

from _graph import CAMERA, CORE, EventStream, Graph, READOUT  # noqa: E402

pytestmark = pytest.mark.ros
REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize('executor', ['auto', 'single'])
def test_composed_process_end_to_end(tmp_path, executor):
    ckpt = tmp_path / 'composed.npz'
    config = {'event_camera': {'ros__parameters': nest(CAMERA)},
              'snn_core': {'ros__parameters': nest(dict(CORE, checkpoint=str(ckpt)))},
              'readout': {'ros__parameters': nest(READOUT)}}
    params_file = tmp_path / 'graph.yaml'
    params_file.write_text(yaml.safe_dump(config))
    proc = subprocess.Popen(
        [sys.executable, '-m', 'snn_ros.nodes.composed', '--adapters', 'event_camera',
         '--executor', executor, '--ros-args', '--params-file', str(params_file)],
        cwd=REPO, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    g = Graph()
    try:
        decisions = g.listen(Decision, '/readout/decision')
        twists = g.listen(Twist, '/cmd_vel')
        status = g.listen(LearningStatus, '/snn_core/status')
        g.publisher(EventPacket, '/event_camera/events')
        g.publisher(Int32, '/snn_core/label')
        g.wait_for_subscribers('/event_camera/events', timeout=60.0)
        g.wait_for_subscribers('/snn_core/label', timeout=60.0)
        assert proc.poll() is None
        g.publish(Int32, '/snn_core/label', Int32(data=1))
        assert g.spin_until(lambda: len(status) > 0, 60.0)
        stream = EventStream(seed=7)
        for k in range(6):
            g.publish(EventPacket, '/event_camera/events', stream.packet(k % 2))
            assert g.spin_until(lambda: len(decisions) > k, 60.0), 'no decision'
        assert g.spin_until(lambda: len(twists) >= 6)
        assert [d.window_steps for d in decisions] == [20] * 6
        assert g.spin_until(lambda: status and status[-1].step == 120)
        assert status[-1].learning_enabled and status[-1].input_spikes > 0
        assert status[-1].layer_rate_hz and status[-1].weight_names
    finally:
        g.close()
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert proc.returncode in (0, -signal.SIGINT), out
    assert ckpt.is_file(), out
