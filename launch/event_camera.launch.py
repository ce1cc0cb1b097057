"""Event-camera classification: EventPacket stream -> decisions and commands.

Includes snn_ros.launch.py with config/event_camera.yaml; every argument of snn_ros.launch.py
can be overridden (``ros2 launch snn_ros event_camera.launch.py -s`` lists them).
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
            'params_file', default_value=os.path.join(share, 'config', 'event_camera.yaml'),
            description='ROS parameters YAML for all nodes (keyed by node name)'),
        DeclareLaunchArgument(
            'adapters', default_value='event_camera',
            description='comma-separated sensor adapters to run'),
    ]
    graph = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(os.path.join(share, 'launch', 'snn_ros.launch.py')),
        launch_arguments={
            'params_file': LaunchConfiguration('params_file'),
            'adapters': LaunchConfiguration('adapters'),
        }.items())
    return LaunchDescription(args + [graph])
