"""Closed loop without ROS: the spiking network learns a MuJoCo task from its reward alone."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip('mujoco')

from snn_ros.sim.closed_loop import LoopConfig, run_snn_episode, SNNAgent  # noqa: E402
from snn_ros.sim.envs import make_env  # noqa: E402
from snn_ros.sim.policies import random_policy, run_episode  # noqa: E402


def _curves(task, seed, episodes, max_steps):
    """Return per-episode returns: learning network, same network frozen, random policy."""
    env = make_env(task, max_steps=max_steps)
    seeds = [seed * 1000 + i for i in range(episodes)]
    learner = SNNAgent(env, seed)
    learned = [run_snn_episode(env, learner, s, learn=True) for s in seeds]
    frozen_agent = SNNAgent(env, seed)
    frozen = [run_snn_episode(env, frozen_agent, s, learn=False) for s in seeds]
    rand = [run_episode(env, random_policy(env, seed), s) for s in seeds]
    return np.array(learned), np.array(frozen), np.array(rand)


def test_reward_alone_teaches_the_pendulum_within_a_few_episodes():
    """Learn to balance from the reward topic's signal alone.

    Margin: the last 3 of 5 episodes (at most 75 periods, 3 s, each; the hand-written
    controller scores about 75) average at least 40 more than the first episode, than the
    identical network with learning off and than the random policy.
    """
    learned, frozen, rand = _curves('pendulum', seed=1, episodes=5, max_steps=75)
    print(f'pendulum returns: learning {np.round(learned, 1)}, frozen {np.round(frozen, 1)}, '
          f'random {np.round(rand, 1)}')
    assert learned[-3:].mean() >= learned[:1].mean() + 40.0
    assert learned[-3:].mean() >= frozen.mean() + 40.0
    assert learned[-3:].mean() >= rand.mean() + 40.0


def test_learning_is_reproducible_with_the_same_seed():
    env = make_env('pendulum', max_steps=20)
    runs = []
    for _ in range(2):
        agent = SNNAgent(env, 5, LoopConfig())
        runs.append([run_snn_episode(env, agent, s) for s in (11, 12)])
    assert runs[0] == runs[1]


@pytest.mark.slow
def test_reward_alone_teaches_the_mobile_robot_to_avoid_obstacles():
    """Learn to avoid obstacles from the reward alone (a longer run).

    Margin: the last 4 of 12 episodes (at most 150 periods, 15 s, each; hand about 130)
    average at least 30 more than the frozen network and the random policy.
    """
    learned, frozen, rand = _curves('mobile', seed=0, episodes=12, max_steps=150)
    print(f'mobile returns: learning {np.round(learned, 1)}, frozen {np.round(frozen, 1)}, '
          f'random {np.round(rand, 1)}')
    assert learned[-4:].mean() >= frozen.mean() + 30.0
    assert learned[-4:].mean() >= rand.mean() + 30.0
