"""Online learning on real N-MNIST recordings with local rules only (prints the accuracy).

The protocol is the study's (:func:`snn_ros.study.nmnist.present`): samples stream through the
network one after another (10 ms steps, 300 ms each); every 100 ms ``teach(label)`` sets the
margin WTA error from the running readout counts for a 2-step pulse, which gates the
three-factor hidden plasticity (through the modulatory populations) and the readout delta
rule. The decision is the readout count argmax over the sample. No gradients, no offline
fitting.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from _data import nmnist_small
from snn_ros.core import Network, NetworkConfig
from snn_ros.core.config import load_yaml
from snn_ros.core.params import apply
from snn_ros.study import nmnist
from snn_ros.study.nmnist import present


def train_and_test(cfg: NetworkConfig, n_train: int, n_test: int, epochs: int = 1,
                   seed: int = 0) -> float:
    """Train online on the first ``n_train`` samples, then return the test accuracy.

    Each epoch streams the samples one by one in an order shuffled with ``seed`` (as the
    study does).
    """
    data = nmnist_small()
    net = Network(cfg, seed)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        for i in rng.permutation(n_train):
            present(net, data, 'train', int(i), int(data['train_labels'][i]))
    net.learning = False
    correct = sum(present(net, data, 'test', i, None) == data['test_labels'][i]
                  for i in range(n_test))
    return correct / n_test


def test_nmnist_fast_learns_well_above_chance():
    cfg = nmnist.config('full', n_hidden=256)
    acc = train_and_test(cfg, n_train=300, n_test=100)
    print(f'\nN-MNIST fast (2x256 hidden, 300 train samples): test accuracy {acc:.2f}')
    assert acc >= 0.4


NMNIST_YAML = Path(__file__).resolve().parent.parent / 'config' / 'nmnist.yaml'
SEEDS = (0, 1, 2)


EPOCHS = 5   # the schedule of config/nmnist.yaml


# Measured 2026-11-28 with config/nmnist.yaml (lr_hidden 1e-3), 5 shuffled online passes over
# the 1000 training samples, test100, seeds 0 / 1 / 2: full learning 0.64 / 0.64 / 0.60 (mean
# 0.627), readout only (lr_hidden = 0) 0.65 / 0.61 / 0.65 (mean 0.637); 210 s for the six runs.
# (The study, which also tests after every epoch and so moves the homeostatic thresholds in
# between, measured 0.647 vs 0.623; the previous file, lr_hidden 1e-4 and one pass, 0.653 vs
# 0.640.) A ridge probe fitted offline on the standardised frozen hidden spike counts (a
# diagnosis, not a reported number) reaches 0.80 / 0.85 (lambda 100 / 1000): the online
# spiking readout (~6 spikes per class and sample) stays 0.15-0.2 below what the hidden code
# supports, the 0.8 target is not reached, and full and readout-only learning differ
# by less than the noise of 100 test samples.
@pytest.mark.slow
@pytest.mark.xfail(reason='issue 3 target not reached: measured full learning 0.64 / 0.64 / 0.60 '
                          '(seeds 0-2, 5 epochs), readout only 0.65 / 0.61 / 0.65; target 0.8 '
                          'and a clear lead of full learning', strict=False)
def test_nmnist_full_learning_reaches_target_and_beats_readout_only():
    cfg = load_yaml(NMNIST_YAML, 'snn_core')
    frozen = apply(cfg, {'plasticity.lr_hidden': 0.0})
    full = [float(train_and_test(cfg, n_train=1000, n_test=100, epochs=EPOCHS, seed=s))
            for s in SEEDS]
    ro = [float(train_and_test(frozen, n_train=1000, n_test=100, epochs=EPOCHS, seed=s))
          for s in SEEDS]
    print(f'\nN-MNIST ({NMNIST_YAML.name}, {EPOCHS} online passes over 1000 train samples, '
          f'seeds {SEEDS}): full learning {full} (mean {np.mean(full):.3f}), readout only '
          f'(frozen hidden) {ro} (mean {np.mean(ro):.3f})')
    assert min(full) >= 0.8
    assert np.mean(full) >= np.mean(ro) + 0.03


def toy_reward_accuracy(n_trials: int, seed: int) -> float:
    """Train two-class toy patterns from a scalar reward only; return the test accuracy."""
    cfg = NetworkConfig.from_dict({
        'n_inputs': 20, 'dt_s': 0.01, 'neuron': {'target_rate_hz': 5.0},
        'layers': {'n_hidden': 32, 'block_size': 8, 'w_input': 0.5, 'p_input': 0.3,
                   'w_ff': 0.05},
        'readout': {'n_classes': 2, 'pop_size': 2, 'w_readout': 0.02, 'p_readout': 1.0},
        'modulation': {'n_populations': 4, 'fan_in': 2, 'baseline_tau': 10.0},
        'plasticity': {'lr_readout': 2e-2, 'lr_hidden': 1e-4}})
    net = Network(cfg, seed)
    rng = np.random.default_rng(seed)

    def trial(label: int, learn: bool) -> bool:
        net.reset_state()
        ok = False
        for s in range(20):
            channels = np.arange(10) + 10 * label
            net.step(channels[rng.random(10) < 0.3])
            if s == 9:
                d = net.decision()
                ok = d.label == label and d.margin > 0
                if learn:
                    net.reward(1.0 if d.label == label else -1.0)
        if learn:
            net.error(np.zeros(2))
        return ok

    for _ in range(n_trials):
        trial(int(rng.integers(0, 2)), True)
    net.learning = False
    return float(np.mean([trial(i % 2, False) for i in range(40)]))


def test_reward_alone_drives_learning():
    before = toy_reward_accuracy(0, seed=0)
    after = toy_reward_accuracy(300, seed=0)
    print(f'\nreward-only toy task: accuracy {before:.2f} untrained, {after:.2f} trained')
    assert after >= before + 0.3
