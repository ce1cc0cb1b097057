"""MuJoCo tasks: physics steps, sensor shapes, sane rewards, hand controller beats random."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip('mujoco')

from snn_ros.sim.envs import make_env, MobileEnv, PendulumEnv  # noqa: E402
from snn_ros.sim.policies import hand_policy, random_policy, run_episode  # noqa: E402


def test_unknown_task_is_refused_with_the_valid_ones():
    with pytest.raises(ValueError, match='mobile'):
        make_env('cartwheel')


def test_pendulum_physics_and_sensors():
    env = PendulumEnv()
    obs = env.reset(3)
    assert env.control_dt_s == pytest.approx(0.04)
    assert obs.joint_names == ['hinge'] and obs.joint_pos.shape == (1,)
    assert obs.accel.shape == (3,) and obs.gyro.shape == (3,)
    assert obs.orientation_xyzw.shape == (4,)
    assert np.linalg.norm(obs.orientation_xyzw) == pytest.approx(1.0)
    # At rest near upright the accelerometer reads about +g along the pole.
    assert np.linalg.norm(obs.accel) == pytest.approx(9.81, rel=0.15)
    assert obs.scan_ranges.size == 0 and obs.image is None
    # Uncontrolled, gravity tips the pendulum over and the episode ends with r = 0.
    theta0 = obs.state['theta']
    res = None
    for _ in range(env.max_steps):
        res = env.step(1)
        if res.done:
            break
    assert res.terminated and res.info['fallen'] and res.reward == 0.0
    assert abs(res.obs.state['theta']) > abs(theta0)
    assert res.obs.time_s == pytest.approx(env.steps * env.control_dt_s)


def test_pendulum_torque_direction_and_reward_range():
    env = PendulumEnv()
    env.reset(0)
    env.data.qpos[0] = env.data.qvel[0] = 0.0
    up = env.step((0.0, 1.0))
    assert up.obs.state['theta_dot'] > 0.2 and up.obs.joint_effort[0] == pytest.approx(3.0)
    for seed in range(3):
        env.reset(seed)
        for a in (0, 1, 2, 2, 0, 1):
            r = env.step(a)
            assert 0.0 <= r.reward <= 2.0
            if r.done:
                break


def test_mobile_physics_sensors_and_commands():
    env = MobileEnv(n_beams=36, camera=True, image_size=(16, 12))
    obs = env.reset(1)
    assert obs.joint_names == ['wheel_left', 'wheel_right']
    assert obs.scan_ranges.shape == (36,) and obs.scan_ranges.dtype == np.float32
    assert np.all(obs.scan_ranges > 0.45) and np.all(obs.scan_ranges <= env.range_max_m)
    assert obs.scan_angle_min == pytest.approx(-math.pi)
    assert obs.scan_angle_increment * 36 == pytest.approx(2 * math.pi)
    assert obs.image.shape == (12, 16) and obs.image.dtype == np.uint8
    assert obs.accel[2] == pytest.approx(9.81, abs=0.5)
    x0, y0, yaw0 = env.pose()
    for _ in range(5):
        res = env.step((0.3, 0.0))
    x1, y1, yaw1 = env.pose()
    moved = (x1 - x0) * math.cos(yaw0) + (y1 - y0) * math.sin(yaw0)
    assert moved == pytest.approx(0.3 * 5 * env.control_dt_s, rel=0.25)
    assert res.obs.state['v_forward'] == pytest.approx(0.3, rel=0.1)
    assert res.obs.joint_vel == pytest.approx([0.3 / env.wheel_radius_m] * 2, rel=0.1)
    for _ in range(5):
        res = env.step((0.0, 1.0))
    assert res.obs.gyro[2] == pytest.approx(1.0, rel=0.15)
    assert math.remainder(env.pose()[2] - yaw1, 2 * math.pi) > 0.3


def test_mobile_collision_ends_the_episode_with_a_penalty():
    env = MobileEnv()
    env.reset(0)
    res = None
    for _ in range(env.max_steps):
        res = env.step((0.3, 0.0))
        if res.done:
            break
    assert res.terminated and res.info['collision'] and res.reward == -5.0


def test_same_seed_same_episode():
    a, b = MobileEnv(), MobileEnv()
    ra = [a.reset(7).scan_ranges] + [a.step(i % 3).obs.scan_ranges for i in range(10)]
    rb = [b.reset(7).scan_ranges] + [b.step(i % 3).obs.scan_ranges for i in range(10)]
    assert all(np.array_equal(x, y) for x, y in zip(ra, rb))


@pytest.mark.parametrize('task, episodes, margin', [('pendulum', 10, 100.0),
                                                    ('mobile', 4, 40.0)])
def test_hand_controller_beats_random(task, episodes, margin):
    env = make_env(task)
    rand = np.mean([run_episode(env, random_policy(env, 0), s) for s in range(episodes)])
    hand = np.mean([run_episode(env, hand_policy(env), s) for s in range(episodes)])
    print(f'{task}: random {rand:.1f}, hand {hand:.1f} (mean return over {episodes} episodes)')
    assert hand > rand + margin


def test_sim_package_imports_with_ros_blocked():
    """snn_ros.sim is ROS-free (like core and adapters): it runs where rclpy does not."""
    import subprocess
    import sys

    code = '''
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        root = name.split('.')[0]
        if root in ('rclpy', 'launch', 'launch_ros') or root.endswith(('_msgs', '_srvs')) \\
                or name in ('snn_ros.msg', 'snn_ros.srv') or name.startswith('snn_ros.nodes'):
            raise ImportError(f'blocked import of {name}')
sys.meta_path.insert(0, Block())
import pkgutil, importlib, snn_ros.sim
for mod in pkgutil.walk_packages(snn_ros.sim.__path__, 'snn_ros.sim.'):
    importlib.import_module(mod.name)
print('ok')
'''
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == 'ok', out.stderr[-2000:]


@pytest.mark.parametrize('task', ['pendulum', 'mobile'])
def test_policies_act_alike_on_the_sim_messages(task):
    """The hand-written controller decides the same from the published messages."""
    from snn_ros.sim.closed_loop import joint_state_msg, laser_scan_msg
    from snn_ros.sim.policies import observation_from_messages

    env = make_env(task, max_steps=40)
    policy = hand_policy(env)
    obs = env.reset(3)
    chosen = set()
    for k in range(40):
        msgs = observation_from_messages(joint_state=joint_state_msg(obs, k),
                                         scan=laser_scan_msg(obs, k))
        action = policy(obs)
        assert policy(msgs) == action
        chosen.add(action)
        res = env.step(action)
        if res.done:
            break
        obs = res.obs
    assert len(chosen) >= 2
