"""The nodes' ROS-free logic: input checks, windows, teaching, decisions and commands."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from snn_ros.core import decide, Network, NetworkConfig
from snn_ros.replay import build_config, load_params
from snn_ros.runtime import (ControlConfig, CoreNodeConfig, CoreRuntime, InputsConfig,
                             ReadoutNodeConfig, ReadoutRuntime, WatchdogConfig)

CONFIGS = sorted((Path(__file__).resolve().parents[1] / 'config').glob('*.yaml'))
MS = 1_000_000


def _net(window_steps=10, seed=0):
    return Network(NetworkConfig.from_dict({
        'n_inputs': 20, 'layers': {'n_hidden': 16, 'block_size': 8, 'w_input': 0.3},
        'readout': {'n_classes': 2, 'pop_size': 2, 'window_steps': window_steps}}), seed)


def _core(mode='data', **inputs):
    inp = dict(topics=('a/spikes', 'b/spikes'), offsets=(0, 10), sizes=(10, 0))
    inp.update(inputs)
    rejected = []
    rt = CoreRuntime(_net(), CoreNodeConfig(mode=mode, inputs=InputsConfig(**inp)),
                     on_reject=lambda reason, msg: rejected.append(reason))
    return rt, rejected


def test_silent_window_decides_no_class():
    d = decide(np.zeros(3))
    assert d.label == -1 and d.margin == 0.0 and d.confidence == 0.0
    assert decide([0, 3, 3]).label == 1 and decide([1, 4, 0]).margin == 3.0
    net = _net()
    net.reset_window()
    assert net.decision().label == -1
    err = net.reward(1.0)  # after a silent decision no class is credited
    assert not err.any()
    err = net.reward(1.0, label=1)  # unless the caller names the action it took
    assert err[1] > 0 and err[0] == 0
    with pytest.raises(ValueError):
        net.reward(1.0, label=2)


def test_closed_loop_acts_on_silent_windows():
    pytest.importorskip('mujoco')
    from snn_ros.sim.closed_loop import action_of, LoopConfig, NO_ACTION, SNNAgent
    from snn_ros.sim.envs import make_env

    env = make_env('pendulum', max_steps=5)
    obs = env.reset(0)
    for silent_action, credited in ((0, 0), (-1, None)):
        agent = SNNAgent(env, 0, LoopConfig(silent_action=silent_action,
                                            network={'readout.w_readout': 0.0}))
        assert agent.act(obs) == silent_action and agent.silent_decisions == 1
        assert agent._credit == credited
        agent.learn(1.0)
    assert action_of(-1) == NO_ACTION and action_of(2) == 2


def test_core_checks_inputs_like_the_node():
    rt, rejected = _core()
    ok = rt.on_spikes(0, [1, 2], [0, 1], 2, 10, MS, 0)
    assert ok is not None and ok.n_steps == 2 and rt.counts['steps'] == 2
    cases = [((0, [1], [0], 1, 9, MS, 0), 'population_size'),       # size 10 expected
             ((1, [1], [0], 1, 11, MS, 0), 'population_size'),      # 10 + 11 > 20 channels
             ((0, [1], [0], 1, 10, 2 * MS, 0), 'dt_mismatch'),
             ((0, [1, 2], [0], 1, 10, MS, 0), 'shape'),
             ((0, [10], [0], 1, 10, MS, 0), 'out_of_range'),
             ((0, [1, 2], [1, 0], 2, 10, MS, 0), 'step_offsets')]
    for args, reason in cases:
        assert rt.on_spikes(*args) is None
        assert rejected[-1] == reason
    assert rt.counts['rejected_messages'] == len(cases)
    assert rt.counts['input_messages'] == len(cases) + 1
    assert not rt.on_label(2) and rejected[-1] == 'bad_label'
    assert not rt.on_reward(float('nan')) and rejected[-1] == 'bad_reward'
    assert not rt.on_error([0.0]) and rejected[-1] == 'bad_error'


def test_core_data_mode_trims_overlap_and_teaches_at_window_ends():
    rt, _ = _core()
    rt.on_spikes(0, [1], [0], 3, 10, MS, 0)
    # the next packet starts inside the last step already run: that step is dropped
    out = rt.on_spikes(0, [2, 3], [0, 2], 3, 10, MS, 2 * MS)
    assert out.n_steps == 2 and out.t0_ns == 3 * MS
    assert rt.counts['steps'] == 5 and rt.net.t == 5
    assert rt.on_label(1)
    rt.on_spikes(1, [], [], 15, 10, MS, 5 * MS)
    assert rt.counts['windows'] == 2 and rt.counts['teach_events'] == 2
    assert rt.counters()['labels'] == 1


def test_core_timer_mode_queues_drops_and_ticks():
    rt, _ = _core(mode='timer', max_queue_steps=4)
    assert rt.on_spikes(0, [1, 2], [0, 5], 6, 10, MS, 7 * MS) is None
    assert rt.counts['dropped_steps'] == 2 and rt.counts['dropped_input_spikes'] == 1
    out = rt.tick(123)
    assert out.n_steps == 1 and out.t0_ns == 9 * MS  # the oldest queued step kept
    rt.clear_queues()
    assert rt.tick(456).t0_ns == 456


def test_readout_windows_decisions_and_commands():
    cfg = ReadoutNodeConfig(n_classes=2, window_steps=4, class_names=('left', 'right'),
                            control=ControlConfig(table_linear_x=(0.2, 0.2),
                                                  table_angular_z=(1.0, -3.0),
                                                  max_angular=2.0, smoothing=0.5))
    rejected = []
    rt = ReadoutRuntime(cfg, on_reject=lambda reason, msg: rejected.append(reason))
    assert rt.on_spikes([0, 1], [0, 1], 3, 4, 0, MS) == []
    (d,) = rt.on_spikes([3], [1], 2, 4, 3 * MS, MS)  # the window of 4 steps ends here
    assert (d.class_index, d.class_name, d.spike_counts) == (0, 'left', [2, 0])
    assert d.stamp_ns == 3 * MS and d.window_steps == 4 and rt.steps == 1
    assert d.margin == 2.0 and d.confidence == 1.0
    assert d.command == pytest.approx((0.1, 0.5))  # smoothed from zero
    (d,) = rt.on_spikes([2, 3], [0, 1], 3, 4, 5 * MS, MS)
    assert d.class_index == 1 and d.command == pytest.approx((0.15, -1.25))
    (d,) = rt.on_spikes([], [], 4, 4, 8 * MS, MS)  # silent: no class, zero target
    assert (d.class_index, d.class_name, d.confidence) == (-1, '', 0.0)
    assert d.command == pytest.approx((0.075, -0.625))
    assert rt.on_spikes([0], [0], 1, 3, 0, MS) == [] and rejected == ['population_size']
    assert rt.decisions == 3 and rt.rejected == 1


def test_readout_population_code_and_watchdog():
    cfg = ReadoutNodeConfig(n_classes=3, window_steps=2, watchdog=WatchdogConfig(deadline_s=1),
                            control=ControlConfig(mode='population', max_linear=1.0))
    rt = ReadoutRuntime(cfg)
    assert rt.watchdog(0) == (True, False)  # stale from the start
    (d,) = rt.on_spikes([2, 2, 0], [0, 1, 1], 2, 3, 0, MS, now_ns=10**9)
    assert d.class_index == 2 and d.command == pytest.approx((1 / 3, 1 / 3))
    assert not rt.stale and rt.watchdog(int(1.5e9)) == (False, False)
    assert rt.watchdog(int(2.5e9)) == (True, True) and rt.watchdog(int(3e9)) == (True, False)
    assert rt.zero_commands == 3 and not rt.command.any()


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.name)
def test_package_configs_build_the_runtime_configs(path):
    """Each config's snn_core / readout sections build the node configs the runtime takes."""
    import yaml

    if not isinstance(yaml.safe_load(path.read_text()), dict):
        pytest.skip('not a params file')
    params = load_params(path)
    if 'snn_core' in params:
        core = build_config(CoreNodeConfig, params['snn_core'], 'snn_core')
        net = build_config(NetworkConfig, params['snn_core'], 'snn_core')
        assert max(o + s for o, s in zip(core.inputs.offsets, core.inputs.sizes)) \
            <= net.n_inputs
    if 'readout' in params:
        readout = build_config(ReadoutNodeConfig, params['readout'], 'readout')
        if 'snn_core' in params:
            assert readout.n_classes == net.readout.n_classes
