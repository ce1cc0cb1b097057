"""Replay a recorded bag through the graph: ``ros2 bag play --clock`` plus use_sim_time.

Every node follows the bag's /clock. For decisions that do not depend on playback speed, use
a params file with ``snn_core.mode: data`` (the core then steps exactly the steps the recorded
events cover). Every other argument (params_file, adapters, events_topic, checkpoint, ...) is
snn_ros.launch.py's.

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
            'use_composition', default_value='true',
            description='run all nodes in one process (snn_ros_composed)'),
    ]
    play = ExecuteProcess(
        cmd=['ros2', 'bag', 'play', '--clock', '--rate', LaunchConfiguration('rate'),
             LaunchConfiguration('bag')],
        output='screen')
    graph = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(os.path.join(share, 'launch', 'snn_ros.launch.py')),
        launch_arguments={
            'use_composition': LaunchConfiguration('use_composition'),
            'use_sim_time': 'true',
        }.items())
    return LaunchDescription(args + [graph, play])
