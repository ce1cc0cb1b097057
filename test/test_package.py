"""Package layout, ring boundaries and lint: the foundation every other part builds on."""

from __future__ import annotations

from pathlib import Path
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT_PATHS = ['snn_ros', 'test', 'bench', 'launch', 'scripts', 'setup.py']

BLOCKER = r'''
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        root = name.split('.')[0]
        ros = ('rclpy', 'rosidl_runtime_py', 'launch', 'launch_ros', 'snn_ros.msg', 'snn_ros.srv')
        if root in ros or name in ros or root.endswith(('_msgs', '_srvs')):
            raise ImportError(f'blocked import of {name} in a ROS-free ring')
sys.meta_path.insert(0, Block())
import pkgutil, importlib
import snn_ros.core, snn_ros.adapters
for ring in (snn_ros.core, snn_ros.adapters):
    for mod in pkgutil.walk_packages(ring.__path__, ring.__name__ + '.'):
        importlib.import_module(mod.name)
import snn_ros.runtime, snn_ros.replay  # the nodes' logic and the offline replay: no ROS
print('ok')
'''


def test_core_adapters_runtime_and_replay_import_with_ros_blocked():
    out = subprocess.run([sys.executable, '-c', BLOCKER], cwd=REPO, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith('ok')


def test_inner_rings_do_not_name_outer_ones():
    for ring in ('core', 'adapters'):
        for path in (REPO / 'snn_ros' / ring).rglob('*.py'):
            text = path.read_text()
            assert not re.search(r'^\s*(from|import)\s+(rclpy|snn_ros\.nodes)', text, re.M), path
            if ring == 'core':
                assert not re.search(r'^\s*(from|import)\s+snn_ros\.adapters', text, re.M), path


def test_package_xml_is_format_3_with_valid_maintainer():
    root = ET.parse(REPO / 'package.xml').getroot()
    assert root.tag == 'package' and root.get('format') == '3'
    assert root.findtext('name') == 'snn_ros'
    email = root.find('maintainer').get('email')
    assert re.fullmatch(r'[^@\s]+@[^@\s]+\.[a-z]+', email)
    assert root.find('export/build_type').text == 'ament_cmake'
    assert root.findtext('member_of_group') == 'rosidl_interface_packages'


def test_layout_matches_the_ros_package_contract():
    for rel in ('setup.py', 'resource/snn_ros', 'CMakeLists.txt', 'msg', 'srv', 'launch',
                'config', 'test', 'bench', 'scripts', 'snn_ros/core', 'snn_ros/adapters',
                'snn_ros/nodes', 'interfaces/event_camera_msgs/msg/EventPacket.msg',
                'interfaces/COLCON_IGNORE', '.ci/run'):
        assert (REPO / rel).exists(), rel


def test_executables_list_is_the_single_source_for_cmake_and_setup_py():
    lines = [ln.replace(' ', '') for ln in (REPO / 'resource/executables').read_text()
             .splitlines() if ln.strip() and not ln.startswith('#')]
    for line in lines:
        name, target = line.split('=')
        module, func = target.split(':')
        assert re.fullmatch(r'[a-z_]+', name), line
        mod_path = REPO / (module.replace('.', '/') + '.py')
        assert mod_path.exists(), line
        assert re.search(rf'^def {func}\(', mod_path.read_text(), re.M), line
    assert 'resource/executables' in (REPO / 'CMakeLists.txt').read_text()
    assert 'resource' in (REPO / 'setup.py').read_text()


def test_event_camera_msgs_stand_in_matches_the_upstream_definition():
    text = (REPO / 'interfaces/event_camera_msgs/msg/EventPacket.msg').read_text()
    fields = [ln.split('#')[0].split() for ln in text.splitlines()]
    fields = [f for f in fields if f]
    assert fields == [['std_msgs/Header', 'header'], ['uint32', 'height'],
                      ['uint32', 'width'], ['uint64', 'seq'], ['uint64', 'time_base'],
                      ['string', 'encoding'], ['bool', 'is_bigendian'], ['uint8[]', 'events']]


def _existing(paths):
    return [p for p in paths if (REPO / p).exists()]


def test_flake8_with_ament_settings():
    pytest.importorskip('flake8')
    out = subprocess.run([sys.executable, '-m', 'flake8', *_existing(LINT_PATHS)], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-2000:]


def test_pep257_with_ament_settings():
    pytest.importorskip('pydocstyle')
    out = subprocess.run([sys.executable, '-m', 'pydocstyle', *_existing(LINT_PATHS)],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-2000:]
