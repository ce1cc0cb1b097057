"""Robot control from IMU, joint states and laser scan -> cmd_vel.

Includes snn_ros.launch.py with config/imu_control.yaml; every argument can be overridden.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration


def generate_launch_description():
    """Declare the use-case arguments and include the generic graph launch."""
    share = get_package_share_directory('snn_ros')
    args = [
        DeclareLaunchArgument(
            'params_file', default_value=os.path.join(share, 'config', 'imu_control.yaml'),
            description='ROS parameters YAML for all nodes (keyed by node name)'),
        DeclareLaunchArgument(
            'adapters', default_value='imu,joint_state,laser_scan',
            description='comma-separated sensor adapters to run'),
        DeclareLaunchArgument(
            'use_sim_time', default_value='false',
            description='use /clock (bag replay, simulators) instead of wall time'),
        DeclareLaunchArgument(
            'use_composition', default_value='false',
            description='run all nodes in one process (snn_ros_composed)'),
        DeclareLaunchArgument(
            'checkpoint', default_value='',
            description='network checkpoint .npz loaded at start and saved on shutdown'),
    ]
    graph = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(os.path.join(share, 'launch', 'snn_ros.launch.py')),
        launch_arguments={name: LaunchConfiguration(name) for name in (
            'params_file', 'adapters', 'use_sim_time', 'use_composition',
            'checkpoint')}.items())
    return LaunchDescription(args + [graph])
