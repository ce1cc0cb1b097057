"""The live spike raster: a rolling image checked against a plain loop, and on ~/raster."""

from __future__ import annotations

import numpy as np
import pytest

from snn_ros.runtime import SpikeRaster, StepOutput


def _reference(batches, n_hidden, n_readout, width, max_rows):
    """Rebuild the raster by listing every step's spikes and drawing the last ``width``."""
    h_rows, r_rows = min(n_hidden, max_rows), min(n_readout, 64)
    steps = []
    for out in batches:
        for s in range(out.n_steps):
            hid = [int(i) for i, o in zip(out.hidden_indices, out.hidden_offsets) if o == s]
            rd = [int(i) for i, o in zip(out.readout_indices, out.readout_offsets) if o == s]
            steps.append((hid, rd))
    img = np.zeros((h_rows + 1 + r_rows, width), np.uint8)
    img[h_rows, :] = 96
    for col, (hid, rd) in enumerate(steps[-width:], start=width - min(width, len(steps))):
        for i in hid:
            img[i * h_rows // n_hidden, col] = 255
        for i in rd:
            img[h_rows + 1 + i * r_rows // n_readout, col] = 255
    return img


@pytest.mark.parametrize('n_hidden,max_rows,width', [(40, 256, 16), (1000, 32, 50)])
def test_raster_matches_a_plain_loop(n_hidden, max_rows, width):
    rng = np.random.default_rng(n_hidden)
    n_readout = 20
    raster = SpikeRaster(n_hidden, n_readout, width, max_rows)
    batches = []
    for _ in range(12):
        n = int(rng.integers(1, 30))
        k, j = int(rng.integers(0, 60)), int(rng.integers(0, 10))
        out = StepOutput(rng.integers(0, n_readout, j), np.sort(rng.integers(0, n, j)), n, 0,
                         rng.integers(0, n_hidden, k), np.sort(rng.integers(0, n, k)))
        raster.add(out)
        batches.append(out)
        ref = _reference(batches, n_hidden, n_readout, width, max_rows)
        np.testing.assert_array_equal(raster.image(), ref)


def test_core_node_publishes_the_raster_image():
    pytest.importorskip('rclpy')
    from sensor_msgs.msg import Image

    from snn_ros.msg import SpikeEvents
    from snn_ros.nodes.convert import spike_events
    from snn_ros.nodes.snn_core_node import SnnCoreNode

    from _graph import CORE, Graph, params

    g = Graph()
    try:
        g.add(SnnCoreNode(context=g.context, parameter_overrides=params(dict(
            CORE, **{'raster.publish': True, 'raster.period_s': 0.05,
                     'raster.width_steps': 40}))))
        images = g.listen(Image, '/snn_core/raster')
        g.publisher(SpikeEvents, '/event_camera/spikes')
        g.wait_for_subscribers('/event_camera/spikes')
        rng = np.random.default_rng(0)
        idx, off = rng.integers(0, CORE['n_inputs'], 3000), np.sort(rng.integers(0, 40, 3000))
        g.publish(SpikeEvents, '/event_camera/spikes',
                  spike_events(idx, off, 40, 10**9, 10**6, CORE['n_inputs']))
        assert g.spin_until(lambda: any(bytes(m.data).count(255) for m in images))
        img = images[-1]
        assert img.encoding == 'mono8' and img.width == 40 and img.step == 40
        assert img.height == 64 + 1 + 8 and len(img.data) == img.height * img.width
    finally:
        g.close()
