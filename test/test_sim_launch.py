"""Static checks of the simulation configs, launch files and the Gazebo bridge (no launch_ros)."""

from __future__ import annotations

import ast
from pathlib import Path
import xml.etree.ElementTree as ET

import pytest
import yaml

pytest.importorskip('mujoco')

from snn_ros.adapters.encoders import NoiseConfig, PopulationConfig  # noqa: E402
from snn_ros.adapters.imu import ImuAdapter, ImuConfig  # noqa: E402
from snn_ros.adapters.joint_state import JointStateAdapter, JointStateConfig  # noqa: E402
from snn_ros.adapters.laser_scan import LaserScanAdapter, LaserScanConfig  # noqa: E402
from snn_ros.core.config import NetworkConfig  # noqa: E402
from snn_ros.sim.envs import make_env  # noqa: E402
from test_launch_static import launch_arguments  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CASES = {'pendulum': ['joint_state'], 'mobile': ['laser_scan', 'imu']}
NODE_KEYS = {'use_sim_time', 'mode', 'steps_per_tick', 'reward_steps', 'silent_label', 'seed',
             'checkpoint', 'inputs', 'hidden', 'status_period_s', 'checkpoint_period_s',
             'save_on_shutdown', 'warmup', 'error_log_period_s'}


def _params(case):
    doc = yaml.safe_load((REPO / 'config' / f'sim_{case}.yaml').read_text())
    return {node: body['ros__parameters'] for node, body in doc.items()}


def _adapter(name, p):
    p = {k: v for k, v in p.items() if k not in ('use_sim_time', 'dt_s')}
    if 'population' in p:
        p['population'] = PopulationConfig(**p['population'])
    if 'noise' in p:
        p['noise'] = NoiseConfig(**p['noise'])
    if name == 'joint_state':
        p['joint_names'] = tuple(p['joint_names'])
        return JointStateAdapter(JointStateConfig(**p), 1_000_000)
    if name == 'laser_scan':
        return LaserScanAdapter(LaserScanConfig(**p), 1_000_000)
    return ImuAdapter(ImuConfig(**p), 1_000_000)


@pytest.mark.parametrize('case', sorted(CASES))
def test_sim_config_wires_sim_adapters_core_and_readout_consistently(case):
    params = _params(case)
    assert set(params) == {'sim', 'snn_core', 'readout', *CASES[case]}
    sim = params['sim']
    assert sim['task'] == case and 'use_sim_time' not in sim  # the sim is the clock
    env = make_env(case, control_dt_s=sim['control_period_s'])
    core = params['snn_core']
    net = NetworkConfig.from_dict({k: v for k, v in core.items() if k not in NODE_KEYS})
    inputs = core['inputs']
    assert inputs['topics'] == [f'{a}/spikes' for a in CASES[case]]
    sizes = [_adapter(a, params[a]).n_channels for a in CASES[case]]
    assert inputs['sizes'] == sizes
    assert inputs['offsets'] == [sum(sizes[:k]) for k in range(len(sizes))]
    assert net.n_inputs == sum(sizes)
    readout = params['readout']
    assert net.readout.n_classes == readout['n_classes'] == env.n_actions
    assert len(readout['class_names']) == env.n_actions
    table = list(zip(readout['control']['table_linear_x'],
                     readout['control']['table_angular_z']))
    assert table == [tuple(map(float, row)) for row in env.action_table]
    # Lockstep: the sim waits for each command, the core steps as the sensor spikes arrive
    # and every sensor sample spans exactly one decision window (one command per period).
    assert sim['lockstep'] is True and core['mode'] == 'sync'
    window = readout['window_steps']
    assert net.readout.window_steps == window
    for a in CASES[case]:
        held = params[a].get('hold_steps', params[a].get('window_steps'))
        assert held == window, a
    assert window * net.dt_s <= env.control_dt_s
    assert sim['clock_period_s'] == pytest.approx(env.control_dt_s)
    # Each reward is consolidated before the next window; a silent window is one class.
    assert 0 < core['reward_steps'] < window
    assert core.get('silent_label', -1) == readout['control'].get('silent_class', -1)
    for node in ('snn_core', 'readout', *CASES[case]):
        assert params[node]['use_sim_time'] is True, node
    assert net.plasticity.learning


def test_sim_node_accepts_its_config():
    pytest.importorskip('rclpy')
    from snn_ros.nodes.sim_node import SimNodeConfig

    for case in CASES:
        cfg = SimNodeConfig(**_params(case)['sim'])
        assert cfg.task == case


def _launch_strings(name):
    tree = ast.parse((REPO / 'launch' / name).read_text())
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
            and isinstance(n.value, str)}


@pytest.mark.parametrize('case', sorted(CASES))
def test_sim_launch_starts_the_sim_and_the_graph(case):
    text = _launch_strings(f'sim_{case}.launch.py')
    assert {'sim_node', 'snn_ros.launch.py', f'sim_{case}.yaml', '~/reward',
            '/snn_core/reward', ','.join(CASES[case])} <= text
    offered = launch_arguments(REPO / 'launch' / f'sim_{case}.launch.py')
    for arg in ('params_file', 'use_sim_time', 'use_composition', 'checkpoint'):
        assert arg in offered


def test_gazebo_bridge_maps_the_sim_topics_onto_the_world():
    bridge = yaml.safe_load((REPO / 'config' / 'gz_bridge.yaml').read_text())
    by_ros = {b['ros_topic_name']: b for b in bridge}
    assert set(by_ros) == {'/clock', '/cmd_vel', '/scan', '/imu', '/joint_states'}
    assert by_ros['/cmd_vel']['direction'] == 'ROS_TO_GZ'
    assert all(by_ros[t]['direction'] == 'GZ_TO_ROS' for t in by_ros if t != '/cmd_vel')
    types = {t: by_ros[t]['ros_type_name'] for t in by_ros}
    assert types == {'/clock': 'rosgraph_msgs/msg/Clock', '/cmd_vel': 'geometry_msgs/msg/Twist',
                     '/scan': 'sensor_msgs/msg/LaserScan', '/imu': 'sensor_msgs/msg/Imu',
                     '/joint_states': 'sensor_msgs/msg/JointState'}
    world = ET.parse(REPO / 'config' / 'gz_mobile_world.sdf').getroot().find('world')
    model = next(m for m in world.findall('model') if m.get('name') == 'snn_robot')
    plugins = {p.get('name'): p for p in model.findall('plugin')}
    diff = plugins['gz::sim::systems::DiffDrive']
    assert diff.findtext('topic') == by_ros['/cmd_vel']['gz_topic_name']
    assert by_ros['/joint_states']['gz_topic_name'] == \
        f'/world/{world.get("name")}/model/snn_robot/joint_state'
    assert 'gz::sim::systems::JointStatePublisher' in plugins
    sensors = {s.get('type'): s for s in model.iter('sensor')}
    assert sensors['gpu_lidar'].findtext('topic') == 'scan'
    assert sensors['imu'].findtext('topic') == 'imu'
    beams = int(sensors['gpu_lidar'].find('ray/scan/horizontal/samples').text)
    assert beams == _params('mobile')['sim']['n_beams']
    text = _launch_strings('gazebo.launch.py')
    assert {'gz_mobile_world.sdf', 'gz_bridge.yaml', 'sim_mobile.yaml', 'parameter_bridge',
            'ros_gz_bridge', 'laser_scan,imu'} <= text
