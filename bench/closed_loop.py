"""Closed-loop benchmark: the sim launch files' ROS graph learning from its reward topic.

Prints JSON lines ``{bench, case, impl, metric, value, unit}`` per task case (``pendulum``,
``mobile``), every SNN figure measured through the composed ROS graph of
``config/sim_<case>.yaml`` (sim node in lockstep, adapter nodes, ``snn_core`` in ``mode: sync``,
``readout``; one process, one executor, real DDS on localhost):

* impl ``snn_ros``: ``return_snn_first`` and ``return_snn_final`` (mean return over the first
  and the last ``--last`` of ``--episodes`` learning episodes, learning from
  ``/snn_core/reward`` alone), ``sim_s_per_wall_s`` (simulated seconds per wall second of that
  run) and ``control_latency_p50_ms`` / ``control_latency_p99_ms`` (wall time from the sim
  publishing a sensor message to the readout's decision for that sensor stamp);
* impl ``snn_ros_frozen``: ``return_snn_frozen``, the same graph with ``plasticity.learning``
  off;
* impl ``snn_ros_inproc``: the same returns from :class:`snn_ros.sim.closed_loop.GraphLoop`
  (the graph's ROS-free twin on the same parameters) and its ``sim_s_per_cpu_s``;
* impl ``random`` and ``hand``: ``return_random`` and ``return_hand``, the uniform random and
  the hand-written policy as a ROS node driving the same lockstep sim node from its
  ``joint_states`` / ``scan`` on the same start states; ``random_inproc`` / ``hand_inproc``:
  the same policies on the environment directly.

Usage: ``python bench/closed_loop.py [--cases pendulum,mobile] [--episodes 20]``. Wall-clock
figures depend on the machine's load.
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


def ros_run(case: str, episodes: int, overrides: dict, timeout_s: float = 1800.0
            ) -> dict:
    """Run the composed ROS graph of ``config/sim_<case>.yaml`` for ``episodes`` episodes.

    Returns the per-episode returns, the speed (simulated s per wall s) and the control
    latency (sensor publication to the readout's decision for that sensor stamp, wall ms).
    """
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    from snn_ros.msg import Decision
    from snn_ros.nodes.composed import destroy_nodes
    from snn_ros.nodes.sim_node import build_sim_graph
    from snn_ros.sim.closed_loop import graph_adapters, task_params

    params = REPO / 'config' / f'sim_{case}.yaml'
    rclpy.init(args=['--ros-args', '--params-file', str(params)])
    executor = SingleThreadedExecutor()
    nodes = []
    try:
        nodes = build_sim_graph(graph_adapters(task_params(case)), overrides)
        sim = nodes[0]
        probe = Node('bench_probe')
        nodes.append(probe)
        latencies: list[float] = []

        def on_decision(msg: Decision) -> None:
            now = time.monotonic_ns()
            stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
            keys = list(sim.publish_wall_ns)
            k = bisect.bisect_right(keys, stamp) - 1
            if k >= 0 and stamp - keys[k] < int(sim.env.control_dt_s * 1e9):
                latencies.append((now - sim.publish_wall_ns[keys[k]]) * 1e-6)

        probe.create_subscription(Decision, 'readout/decision', on_decision,
                                  QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
        for node in nodes:
            executor.add_node(node)
        t0 = time.monotonic()
        c0 = time.process_time()
        while len(sim.returns) < episodes and time.monotonic() - t0 < timeout_s:
            executor.spin_once(timeout_sec=0.05)
        wall = time.monotonic() - t0
        lat = np.array(latencies) if latencies else np.array([np.nan])
        return {'returns': list(sim.returns[:episodes]), 'wall_s': wall,
                'cpu_s': time.process_time() - c0,
                'sim_s_per_wall_s': sim.sim_time_ns * 1e-9 / wall,
                'latency_p50': float(np.percentile(lat, 50)),
                'latency_p99': float(np.percentile(lat, 99)),
                'lockstep_timeouts': sim.lockstep_timeouts, 'periods': sim.steps}
    finally:
        destroy_nodes(executor, nodes)
        rclpy.try_shutdown()


def policy_ros_run(case: str, policy: str, episodes: int, seed: int, max_steps: int,
                   timeout_s: float = 1800.0) -> list[float]:
    """Run a reference policy (``random``/``hand``) as a ROS node against the lockstep sim node.

    The node acts on each ``joint_states`` (pendulum) or ``scan`` (mobile) message with the
    policy of :mod:`snn_ros.sim.policies` and publishes the chosen class's ``cmd_vel``.
    """
    import rclpy
    from geometry_msgs.msg import Twist
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from rclpy.qos import qos_profile_sensor_data, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import JointState, LaserScan
    from std_msgs.msg import Float32

    from snn_ros.nodes.composed import destroy_nodes
    from snn_ros.nodes.sim_node import SimNode
    from snn_ros.sim.policies import hand_policy, observation_from_messages, random_policy

    params = REPO / 'config' / f'sim_{case}.yaml'
    rclpy.init(args=['--ros-args', '--params-file', str(params)])
    executor = SingleThreadedExecutor()
    nodes = []
    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    try:
        sim_params = dict(overrides(case, seed, max_steps, True)['sim'],
                          lockstep_topics=['scan' if case == 'mobile' else 'joint_states'])
        sim = SimNode(parameter_overrides=[Parameter(k, value=v) for k, v in sim_params.items()],
                      cli_args=['--ros-args', '-r', '~/reward:=/snn_core/reward'])
        node = Node(f'{policy}_policy')
        nodes = [sim, node]
        act = random_policy(sim.env, seed) if policy == 'random' else hand_policy(sim.env)
        pub = node.create_publisher(Twist, '/cmd_vel', reliable)

        def on_sensor(msg: object) -> None:
            obs = (observation_from_messages(scan=msg) if case == 'mobile'
                   else observation_from_messages(joint_state=msg))
            lin, ang = sim.env.action_table[act(obs)]
            twist = Twist()
            twist.linear.x, twist.angular.z = float(lin), float(ang)
            pub.publish(twist)

        if case == 'mobile':
            node.create_subscription(LaserScan, '/scan', on_sensor, qos_profile_sensor_data)
        else:
            node.create_subscription(JointState, '/joint_states', on_sensor,
                                     qos_profile_sensor_data)
        node.create_subscription(Float32, '/snn_core/reward', lambda m: None, reliable)
        for n in nodes:
            executor.add_node(n)
        t0 = time.monotonic()
        while len(sim.returns) < episodes and time.monotonic() - t0 < timeout_s:
            executor.spin_once(timeout_sec=0.05)
        return list(sim.returns[:episodes])
    finally:
        destroy_nodes(executor, nodes)
        rclpy.try_shutdown()


def overrides(case: str, seed: int, max_steps: int, learning: bool) -> dict:
    """Return the per-node parameter overrides of one run (seeds, episode length, learning)."""
    return {'sim': {'seed': seed * 1000, 'max_steps': max_steps, 'real_time_factor': 1000.0},
            'snn_core': {'seed': seed, 'plasticity.learning': learning}}


def main() -> None:
    """Run the cases and print the metrics."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--cases', default='pendulum,mobile')
    parser.add_argument('--episodes', type=int, default=20, help='learning episodes')
    parser.add_argument('--last', type=int, default=5, help='episodes averaged as final')
    parser.add_argument('--max-steps', default='pendulum=200,mobile=150',
                        help='control periods per episode, per case')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--no-frozen', action='store_true', help='skip the frozen ROS run')
    parser.add_argument('--plot', default='',
                        help='write the learning curves (return per episode) to this PNG')
    opts = parser.parse_args()
    curves = {}
    from snn_ros.sim.closed_loop import GraphLoop, task_params
    from snn_ros.sim.envs import make_env
    from snn_ros.sim.policies import hand_policy, random_policy, run_episode

    max_steps = {k: int(v) for k, v in (kv.split('=') for kv in opts.max_steps.split(','))}
    n, last = opts.episodes, opts.last
    for case in opts.cases.split(','):
        steps = max_steps[case]
        ros = ros_run(case, n, overrides(case, opts.seed, steps, True))
        snn = ros['returns']
        emit(case, 'snn_ros', 'sim_s_per_wall_s', ros['sim_s_per_wall_s'], 's/s')
        emit(case, 'snn_ros', 'control_latency_p50_ms', ros['latency_p50'], 'ms')
        emit(case, 'snn_ros', 'control_latency_p99_ms', ros['latency_p99'], 'ms')
        emit(case, 'snn_ros', 'return_snn_first', np.mean(snn[:last]), 'return')
        emit(case, 'snn_ros', 'return_snn_final', np.mean(snn[-last:]), 'return')
        print(f'# {case} ROS loop: {n} episodes x <= {steps} periods, '
              f'{ros["periods"]} periods in {ros["wall_s"]:.1f} s wall, {ros["cpu_s"]:.1f} s '
              f'CPU, lockstep timeouts {ros["lockstep_timeouts"]}', file=sys.stderr)
        frozen = []
        if not opts.no_frozen:
            frozen = ros_run(case, n, overrides(case, opts.seed, steps, False))['returns']
            emit(case, 'snn_ros_frozen', 'return_snn_frozen', np.mean(frozen), 'return')
        t0 = time.process_time()
        loop = GraphLoop(task_params(case, overrides(case, opts.seed, steps, True)))
        twin = loop.run(n)
        cpu = time.process_time() - t0
        emit(case, 'snn_ros_inproc', 'return_snn_first', np.mean(twin[:last]), 'return')
        emit(case, 'snn_ros_inproc', 'return_snn_final', np.mean(twin[-last:]), 'return')
        emit(case, 'snn_ros_inproc', 'sim_s_per_cpu_s', loop.session.sim_time_ns * 1e-9 / cpu,
             's/s')
        rand = policy_ros_run(case, 'random', n, opts.seed, steps)
        hand = policy_ros_run(case, 'hand', n, opts.seed, steps)
        emit(case, 'random', 'return_random', np.mean(rand), 'return')
        emit(case, 'hand', 'return_hand', np.mean(hand), 'return')
        env = make_env(case, max_steps=steps)
        seeds = [opts.seed * 1000 + i for i in range(n)]
        rpol, hpol = random_policy(env, opts.seed), hand_policy(env)  # one each, as over ROS
        rand_env = [run_episode(env, rpol, s) for s in seeds]
        hand_env = [run_episode(env, hpol, s) for s in seeds]
        emit(case, 'random_inproc', 'return_random', np.mean(rand_env), 'return')
        emit(case, 'hand_inproc', 'return_hand', np.mean(hand_env), 'return')
        curves[case] = {'SNN learning (ROS)': snn, 'same graph, learning off': frozen,
                        'random': rand, 'hand-written': hand}
        print(f'# {case} returns per episode: snn_ros {np.round(snn, 1).tolist()} '
              f'frozen {np.round(frozen, 1).tolist()} inproc {np.round(twin, 1).tolist()} '
              f'random {np.round(rand, 1).tolist()} hand {np.round(hand, 1).tolist()}',
              file=sys.stderr)
    if opts.plot:
        plot_curves(curves, opts.plot, opts.seed)


def plot_curves(curves: dict, path: str, seed: int) -> None:
    """Write one panel per case: return per episode of each policy."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(curves), figsize=(5.5 * len(curves), 3.6), squeeze=False)
    for ax, (case, lines) in zip(axes[0], curves.items()):
        for label, values in lines.items():
            if len(values):
                ax.plot(np.arange(1, len(values) + 1), values, marker='o', ms=3, label=label)
        ax.set_title(f'{case} (seed {seed}, composed ROS graph)')
        ax.set_xlabel('episode')
        ax.set_ylabel('return')
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == '__main__':
    main()
