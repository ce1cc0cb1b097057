"""The lockstep pieces of the closed loop: sync core mode, reward consolidation, silent class."""

from __future__ import annotations

import numpy as np

from snn_ros.core.config import NetworkConfig
from snn_ros.core.network import Network
from snn_ros.runtime import ControlConfig, CoreNodeConfig, CoreRuntime, InputsConfig, \
    ReadoutNodeConfig, ReadoutRuntime

MS = 1_000_000


def _core(mode='sync', **kw):
    net = Network(NetworkConfig.from_dict({
        'n_inputs': 8, 'layers': {'n_layers': 1, 'n_hidden': 16, 'block_size': 8},
        'readout': {'n_classes': 2, 'pop_size': 2, 'window_steps': 4}}), 0)
    inputs = InputsConfig(topics=('a', 'b'), offsets=(0, 4), sizes=(4, 4))
    return CoreRuntime(net, CoreNodeConfig(mode=mode, inputs=inputs, **kw))


def test_sync_mode_steps_what_every_input_delivered_joined_by_stamp():
    steps = []
    rt = _core()
    rt.on_step = lambda net: steps.append(net.t)
    assert rt.on_spikes(0, [1, 2], [0, 2], 3, 4, MS, 10 * MS) is None  # input b missing
    assert rt.counts['steps'] == 0
    out = rt.on_spikes(1, [0], [0], 1, 4, MS, 11 * MS)  # b starts one step later
    # Steps at 10 (a only: b is past it) and 11 (a and b) run; 12 waits for b.
    assert out.n_steps == 2 and out.t0_ns == 10 * MS and rt.counts['steps'] == 2
    out = rt.on_spikes(1, [3], [0], 1, 4, MS, 12 * MS)
    assert out.n_steps == 1 and out.t0_ns == 12 * MS and len(steps) == 3


def test_sync_mode_inputs_reach_the_network_together():
    seen = []
    rt = _core()
    real_run = rt.net.run_flat

    def run_flat(idx, off, n, **kw):
        idx, off = np.asarray(idx), np.asarray(off)
        seen.extend(sorted(idx[off == k].tolist()) for k in range(n))
        return real_run(idx, off, n, **kw)

    rt.net.run_flat = run_flat
    rt.on_spikes(0, [1], [0], 1, 4, MS, 5 * MS)
    rt.on_spikes(1, [2], [0], 1, 4, MS, 5 * MS)
    assert seen == [[1, 6]]  # one step with both inputs' spikes (b at offset 4)


def test_reward_steps_consolidate_a_reward_before_the_next_window():
    rt = _core(reward_steps=3)
    rt.on_spikes(0, [0, 1], [0, 1], 4, 4, MS, 0)
    rt.on_spikes(1, [0, 1], [0, 1], 4, 4, MS, 0)
    assert rt.counts['windows'] == 1 and rt.counts['steps'] == 4
    t = rt.net.t
    assert rt.on_reward(1.0)
    assert rt.net.t == t + 3 and rt.counts['steps'] == 7
    assert rt.net.window_steps == 0 and not rt.net._err.any()  # cleared, new window
    # Timer mode keeps the reward until the window ends.
    rt = _core(mode='timer', reward_steps=3)
    t = rt.net.t
    rt.on_reward(1.0)
    assert rt.net.t == t and rt._pending_clear


def test_a_silent_window_is_credited_to_the_silent_label_and_commands_its_class():
    rt = _core(mode='data', silent_label=1)
    rt.net.reset_window()
    rt.end_window()  # no readout spike: decision -1
    assert rt.last_decision == -1
    rt.net.reward(0.0)  # settle the baseline at 0
    rt.on_reward(1.0)
    assert rt.net._err[1] > 0 and rt.net._err[0] == 0
    ro = ReadoutRuntime(ReadoutNodeConfig(n_classes=2, window_steps=2, control=ControlConfig(
        table_linear_x=(0.1, 0.3), table_angular_z=(1.0, 0.0), silent_class=0)))
    d = ro.on_spikes([], [], 2, 4, 0, MS)[0]
    assert d.class_index == -1 and d.command == (0.1, 1.0)
    ro = ReadoutRuntime(ReadoutNodeConfig(n_classes=2, window_steps=2, control=ControlConfig(
        table_linear_x=(0.1, 0.3), table_angular_z=(1.0, 0.0))))
    assert ro.on_spikes([], [], 2, 4, 0, MS)[0].command == (0.0, 0.0)
