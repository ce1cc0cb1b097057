"""Every config/*.yaml builds its whole graph, and the wiring adds up (sizes, offsets, dt)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

rclpy = pytest.importorskip('rclpy')
from rclpy.context import Context  # noqa: E402

from snn_ros.nodes.composed import ADAPTERS, build_nodes  # noqa: E402

pytestmark = pytest.mark.ros
CONFIGS = [p for p in sorted((Path(__file__).resolve().parent.parent / 'config').glob('*.yaml'))
           if isinstance(yaml.safe_load(p.read_text()), dict)
           and {'snn_core', 'readout'} <= set(yaml.safe_load(p.read_text()))]
# graph params files only (config/nmnist.yaml holds the core alone, for the learning test)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_config_builds_a_consistent_graph(path):
    doc = yaml.safe_load(path.read_text())
    adapters = [name for name in doc if name in ADAPTERS]
    assert adapters and 'snn_core' in doc and 'readout' in doc
    ctx = Context()
    rclpy.init(context=ctx, args=['test', '--ros-args', '--params-file', str(path),
                                  '-p', 'warmup:=false'])
    nodes = []
    try:
        nodes = build_nodes(adapters, node_kwargs={n: {'context': ctx}
                                                   for n in adapters + ['snn_core', 'readout']})
        by_name = {n.get_name(): n for n in nodes}
        core, readout = by_name['snn_core'], by_name['readout']
        inputs = core.node_params.config.inputs
        spikes = {by_name[a].resolve_topic_name('~/spikes'): by_name[a] for a in adapters}
        used = []
        for topic, offset, size in zip(inputs.topics, inputs.offsets, inputs.sizes):
            adapter = spikes[core.resolve_topic_name(topic)]
            assert size in (0, adapter.adapter.n_channels), (topic, size)
            assert adapter.dt_ns == core.dt_ns, topic
            used.append((offset, offset + adapter.adapter.n_channels))
        used.sort()
        assert used[-1][1] <= core.net_config.n_inputs
        assert all(a[1] <= b[0] for a, b in zip(used, used[1:])), f'overlap: {used}'
        assert readout.n_classes == core.net_config.readout.n_classes
        for node in nodes:  # the YAML sets only declared parameters (no typos)
            declared = set(node._parameters)
            given = doc.get(node.get_name(), {}).get('ros__parameters', {})
            flat = _flatten(given)
            assert set(flat) <= declared, (node.get_name(), set(flat) - declared)
    finally:
        for node in nodes:
            node.destroy_node()
        rclpy.shutdown(context=ctx)


def _flatten(d, prefix=''):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f'{prefix}{k}.'))
        else:
            out[f'{prefix}{k}'] = v
    return out
