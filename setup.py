"""pip description of the pure-Python part of snn_ros (colcon builds CMakeLists.txt instead).

The ROS package is built by ament_cmake (package.xml, CMakeLists.txt) because msg/ and srv/
generate interfaces in the same package. This file lets ``pip install .`` give the ROS-free
rings (``snn_ros.core``, ``snn_ros.adapters``) and the same console scripts to a plain Python
user; the executables come from the one list in resource/executables, which CMakeLists.txt
reads too, and the version from package.xml.
"""

from pathlib import Path
import re

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent


def _version():
    return re.search(r'<version>([^<]+)</version>', (HERE / 'package.xml').read_text()).group(1)


def _console_scripts():
    lines = (HERE / 'resource' / 'executables').read_text().splitlines()
    return [ln.replace(' ', '') for ln in lines if ln.strip() and not ln.startswith('#')]


setup(
    name='snn_ros',
    version=_version(),
    packages=find_packages(include=['snn_ros', 'snn_ros.*']),
    package_data={'snn_ros.sim': ['models/*.xml']},
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/snn_ros']),
        ('share/snn_ros', ['package.xml']),
    ],
    install_requires=['numpy', 'numba', 'pyyaml', 'scipy', 'rosbags', 'mujoco'],
    python_requires='>=3.10',
    zip_safe=False,
    maintainer='snn_ros maintainers',
    maintainer_email='maintainers@snn-ros.dev',
    description='Online-learning spiking neural networks for ROS 2 robots.',
    license='Apache-2.0',
    entry_points={'console_scripts': _console_scripts()},
)
