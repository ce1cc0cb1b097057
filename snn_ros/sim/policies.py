"""Reference policies for the simulation tasks: uniform random and a hand-written controller.

Both choose among the environment's discrete actions (the readout classes), so their returns
are directly comparable with the spiking network's.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from snn_ros.sim.envs import Env, Observation

Policy = Callable[[Observation], int]


def random_policy(env: Env, seed: int = 0) -> Policy:
    """Return a policy choosing one of ``env.n_actions`` uniformly at random."""
    rng = np.random.default_rng(seed)
    n = env.n_actions

    def act(obs: Observation) -> int:
        return int(rng.integers(n))
    return act


def pendulum_controller(gain_angle: float = 2.0, deadband: float = 0.05) -> Policy:
    """Return a bang-bang sliding-mode controller: push against ``theta_dot + k theta``."""
    def act(obs: Observation) -> int:
        s = obs.state['theta_dot'] + gain_angle * obs.state['theta']
        if abs(s) < deadband:
            return 1
        return 0 if s > 0 else 2
    return act


def mobile_controller(safe_distance_m: float = 0.6) -> Policy:
    """Return a reactive avoider: forward while the front is clear, else turn to the freer side.

    The front sector is the scan's beams within 35 degrees of the heading; the side with the
    larger mean range (over 20 to 90 degrees) wins the turn.
    """
    def act(obs: Observation) -> int:
        ranges = obs.scan_ranges
        angles = obs.scan_angle_min + obs.scan_angle_increment * np.arange(ranges.size)
        front = np.abs(angles) <= np.radians(35) + 1e-9
        if ranges[front].min() > safe_distance_m:
            return 1
        left = (angles > np.radians(20)) & (angles < np.radians(90))
        right = (angles < -np.radians(20)) & (angles > -np.radians(90))
        return 0 if ranges[left].mean() >= ranges[right].mean() else 2
    return act


def hand_policy(env: Env) -> Policy:
    """Return the hand-written controller of ``env``'s task."""
    if env.name == 'pendulum':
        return pendulum_controller()
    if env.name == 'mobile':
        return mobile_controller()
    raise ValueError(f'no hand-written controller for task {env.name!r}')


def run_episode(env: Env, policy: Policy, seed: int) -> float:
    """Run one episode from ``env.reset(seed)`` and return its return (sum of rewards)."""
    obs = env.reset(seed)
    total = 0.0
    while True:
        res = env.step(policy(obs))
        total += res.reward
        obs = res.obs
        if res.done:
            return total


def observation_from_messages(joint_state: Any = None, scan: Any = None) -> Observation:
    """Return the :class:`Observation` a policy needs from ``JointState`` / ``LaserScan``.

    Duck-typed messages (rclpy or :mod:`snn_ros.sim.closed_loop`'s); the pendulum state
    (``theta`` wrapped to [-pi, pi], ``theta_dot``) comes from the first joint. Lets the
    reference policies drive the sim node over ROS exactly as they drive the environment.
    """
    obs = Observation(time_s=0.0, joint_names=[], joint_pos=np.zeros(0),
                      joint_vel=np.zeros(0), joint_effort=np.zeros(0), accel=np.zeros(3),
                      gyro=np.zeros(3), orientation_xyzw=np.array([0.0, 0.0, 0.0, 1.0]))
    if joint_state is not None:
        obs.joint_names = list(joint_state.name)
        obs.joint_pos = np.asarray(joint_state.position, np.float64)
        obs.joint_vel = np.asarray(joint_state.velocity, np.float64)
        if obs.joint_pos.size and obs.joint_vel.size:
            obs.state = {'theta': math.remainder(float(obs.joint_pos[0]), 2 * math.pi),
                         'theta_dot': float(obs.joint_vel[0])}
    if scan is not None:
        obs.scan_ranges = np.asarray(scan.ranges, np.float32)
        obs.scan_angle_min = float(scan.angle_min)
        obs.scan_angle_increment = float(scan.angle_increment)
        obs.scan_range_min = float(scan.range_min)
        obs.scan_range_max = float(scan.range_max)
    return obs
