"""Replay a recorded bag through the graph: ``ros2 bag play --clock`` plus use_sim_time.

Every node follows the bag's /clock. For decisions that do not depend on playback speed, use
a params file with ``snn_core.mode: data`` (the core then steps exactly the steps the recorded
events cover).

Example::

    ros2 launch snn_ros replay.launch.py bag:=/data/test_events_1 \
        events_topic:=/event_camera/events
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration


def generate_launch_description():
    """Declare the replay arguments, play the bag with --clock and include the graph."""
    share = get_package_share_directory('snn_ros')
    args = [
        DeclareLaunchArgument('bag', description='path of the bag (folder or file) to play'),
        DeclareLaunchArgument(
            'rate', default_value='1.0', description='playback rate of ros2 bag play'),
        DeclareLaunchArgument(
            'params_file', default_value=os.path.join(share, 'config', 'event_camera.yaml'),
            description='ROS parameters YAML for all nodes (keyed by node name)'),
        DeclareLaunchArgument(
            'adapters', default_value='event_camera',
            description='comma-separated sensor adapters to run'),
        DeclareLaunchArgument(
            'events_topic', default_value='/event_camera/events',
            description='EventPacket topic as recorded in the bag'),
        DeclareLaunchArgument(
            'use_composition', default_value='true',
            description='run all nodes in one process (snn_ros_composed)'),
        DeclareLaunchArgument(
            'checkpoint', default_value='',
            description='network checkpoint .npz loaded at start and saved on shutdown'),
    ]
    play = ExecuteProcess(
        cmd=['ros2', 'bag', 'play', '--clock', '--rate', LaunchConfiguration('rate'),
             LaunchConfiguration('bag')],
        output='screen')
    graph = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(os.path.join(share, 'launch', 'snn_ros.launch.py')),
        launch_arguments={
            'params_file': LaunchConfiguration('params_file'),
            'adapters': LaunchConfiguration('adapters'),
            'events_topic': LaunchConfiguration('events_topic'),
            'use_composition': LaunchConfiguration('use_composition'),
            'checkpoint': LaunchConfiguration('checkpoint'),
            'use_sim_time': 'true',
        }.items())
    return LaunchDescription(args + [graph, play])
