"""Closed-loop simulation: simulator LaserScan and /clock in, cmd_vel out, reward learning.

Includes snn_ros.launch.py with config/simulation.yaml; every argument of snn_ros.launch.py
can be overridden (``ros2 launch snn_ros simulation.launch.py -s`` lists them).
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration


def generate_launch_description():
    """Declare the use-case defaults and include the generic graph launch."""
    share = get_package_share_directory('snn_ros')
    args = [
        DeclareLaunchArgument(
            'params_file', default_value=os.path.join(share, 'config', 'simulation.yaml'),
            description='ROS parameters YAML for all nodes (keyed by node name)'),
        DeclareLaunchArgument(
            'adapters', default_value='laser_scan',
            description='comma-separated sensor adapters to run'),
        DeclareLaunchArgument(
            'use_sim_time', default_value='true',
            description='use /clock (bag replay, simulators) instead of wall time'),
    ]
    graph = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(os.path.join(share, 'launch', 'snn_ros.launch.py')),
        launch_arguments={
            'params_file': LaunchConfiguration('params_file'),
            'adapters': LaunchConfiguration('adapters'),
            'use_sim_time': LaunchConfiguration('use_sim_time'),
        }.items())
    return LaunchDescription(args + [graph])
