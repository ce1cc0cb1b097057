"""Closed-loop benchmark: MuJoCo sim + SNN + readout, composed, and learning curves.

Prints JSON lines ``{bench, case, impl, metric, value, unit}`` per task case (``pendulum``,
``mobile``):

* impl ``snn_ros``: ``sim_s_per_wall_s`` (simulated seconds per wall second of the full ROS loop:
  sim node, adapter nodes, SNN core and readout in one process and one executor, the sim as
  fast as the loop allows), ``control_latency_p99_ms`` and ``control_latency_p50_ms`` (wall time
  from the sim publishing a sensor message to the readout's command for the window ending at
  that sensor stamp), ``return_snn_first`` and ``return_snn_final`` (ROS-free closed loop:
  mean return over the first and the last ``--last`` of ``--episodes`` learning episodes),
  ``learning_sim_s_per_wall_s`` (that ROS-free loop's speed);
* impl ``snn_ros_frozen``: ``return_snn_frozen``, the same network with learning off;
* impl ``random`` and ``hand``: ``return_random`` and ``return_hand`` over the same start states.

Usage: ``python bench/closed_loop.py [--cases pendulum,mobile] [--episodes 20] [--wall-s 10]``.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
from pathlib import Path
import sys
import time

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
os.environ.setdefault('ROS_DOMAIN_ID', str(100 + os.getpid() % 100))

ADAPTERS = {'pendulum': ['joint_state'], 'mobile': ['laser_scan', 'imu']}
TOPICS = {'joint_state': '/joint_states', 'laser_scan': '/scan', 'imu': '/imu'}
INPUTS = {'joint_state': '~/joint_states', 'laser_scan': '~/scan', 'imu': '~/imu'}


def emit(case: str, impl: str, metric: str, value: float, unit: str) -> None:
    """Print one JSON line."""
    print(json.dumps({'bench': 'closed_loop', 'case': case, 'impl': impl, 'metric': metric,
                      'value': round(float(value), 4), 'unit': unit}), flush=True)


def ros_loop(case: str, wall_s: float, rtf: float, lockstep: bool = True) -> dict[str, float]:
    """Run the composed ROS loop for ``wall_s`` and return speed and latency figures."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    from snn_ros.msg import Decision
    from snn_ros.nodes.composed import build_nodes, destroy_nodes
    from snn_ros.nodes.sim_node import SimNode

    params = REPO / 'config' / f'sim_{case}.yaml'
    rclpy.init(args=['--ros-args', '--params-file', str(params)])
    executor = SingleThreadedExecutor()
    nodes = []
    try:
        sim = SimNode(parameter_overrides=[Parameter('real_time_factor', value=rtf),
                                           Parameter('lockstep', value=lockstep)],
                      cli_args=['--ros-args', '-r', '~/reward:=/snn_core/reward'])
        adapters = ADAPTERS[case]
        kwargs = {a: {'cli_args': ['--ros-args', '-r', f'{INPUTS[a]}:={TOPICS[a]}']}
                  for a in adapters}
        nodes = [sim] + build_nodes(adapters, node_kwargs=kwargs)
        probe = Node('bench_probe')
        nodes.append(probe)
        latencies: list[float] = []
        decisions = []

        def on_decision(msg: Decision) -> None:
            now = time.monotonic_ns()
            stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
            decisions.append(msg.class_index)
            published = sim.publish_wall_ns
            keys = list(published)
            k = bisect.bisect_right(keys, stamp) - 1
            if k >= 0 and stamp - keys[k] < int(sim.env.control_dt_s * 1e9):
                latencies.append((now - published[keys[k]]) * 1e-6)

        probe.create_subscription(Decision, 'readout/decision', on_decision,
                                  QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
        for node in nodes:
            executor.add_node(node)
        for _ in range(50):  # discovery
            executor.spin_once(timeout_sec=0.01)
        t_sim0, t0 = sim.sim_time_ns, time.monotonic()
        while time.monotonic() - t0 < wall_s:
            executor.spin_once(timeout_sec=0.01)
        wall = time.monotonic() - t0
        sim_s = (sim.sim_time_ns - t_sim0) * 1e-9
        lat = np.array(latencies) if latencies else np.array([np.nan])
        return {'sim_s_per_wall_s': sim_s / wall, 'latency_p50': float(np.percentile(lat, 50)),
                'latency_p99': float(np.percentile(lat, 99)), 'decisions': len(decisions),
                'commands': sim.commands_received, 'episodes': sim.episode}
    finally:
        destroy_nodes(executor, nodes)
        rclpy.try_shutdown()


def main() -> None:
    """Run the cases and print the metrics."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--cases', default='pendulum,mobile')
    parser.add_argument('--no-ros', action='store_true', help='skip the ROS loop')
    parser.add_argument('--episodes', type=int, default=20, help='learning episodes')
    parser.add_argument('--last', type=int, default=5, help='episodes averaged as final')
    parser.add_argument('--wall-s', type=float, default=10.0, help='ROS loop duration')
    parser.add_argument('--rtf', type=float, default=1000.0,
                        help='requested real-time factor of the sim node (as fast as possible)')
    parser.add_argument('--seed', type=int, default=0)
    opts = parser.parse_args()
    from snn_ros.sim.closed_loop import frozen_returns, learning_curve

    for case in opts.cases.split(','):
        if not opts.no_ros:
            loop = ros_loop(case, opts.wall_s, opts.rtf)
            emit(case, 'snn_ros', 'sim_s_per_wall_s', loop['sim_s_per_wall_s'], 's/s')
            emit(case, 'snn_ros', 'control_latency_p50_ms', loop['latency_p50'], 'ms')
            emit(case, 'snn_ros', 'control_latency_p99_ms', loop['latency_p99'], 'ms')
            print(f'# {case} ROS loop: {loop}', file=sys.stderr)
        curve = learning_curve(case, opts.episodes, seed=opts.seed)
        emit(case, 'random', 'return_random', np.mean(curve.random), 'return')
        emit(case, 'hand', 'return_hand', np.mean(curve.hand), 'return')
        frozen = frozen_returns(case, opts.episodes, seed=opts.seed)
        emit(case, 'snn_ros_frozen', 'return_snn_frozen', np.mean(frozen), 'return')
        emit(case, 'snn_ros', 'return_snn_first', np.mean(curve.snn[:opts.last]), 'return')
        emit(case, 'snn_ros', 'return_snn_final', np.mean(curve.snn[-opts.last:]), 'return')
        emit(case, 'snn_ros', 'learning_sim_s_per_wall_s', curve.sim_s / curve.wall_s, 's/s')
        print(f'# {case} returns per episode: snn {np.round(curve.snn, 1).tolist()} '
              f'random {np.round(curve.random, 1).tolist()} '
              f'hand {np.round(curve.hand, 1).tolist()} '
              f'frozen {np.round(frozen, 1).tolist()}', file=sys.stderr)


if __name__ == '__main__':
    main()
