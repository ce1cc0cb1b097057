"""Closed-loop simulation, task (b): the SNN learns to drive a MuJoCo robot without collisions.

Starts ``sim_node`` (MuJoCo, the /clock source) and includes snn_ros.launch.py with the
laser_scan and imu adapters, the SNN core and the readout, all from config/sim_mobile.yaml. The
sim's ``~/reward`` is remapped onto the core's ``~/reward``; the readout's ``cmd_vel`` drives
the robot's wheels.

The config runs the loop in lockstep: the sim waits for the command of each period, the
core (``mode: sync``) steps as the sensor spikes arrive and consolidates each reward
before the next window, so the graph learns exactly as its ROS-free twin
``snn_ros.sim.closed_loop.GraphLoop`` (``real_time_factor`` caps the speed).

Example::

    ros2 launch snn_ros sim_mobile.launch.py use_composition:=true
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def generate_launch_description():
    """Declare the arguments, start the simulator and include the SNN graph."""
    share = get_package_share_directory('snn_ros')
    args = [
        DeclareLaunchArgument(
            'params_file', default_value=os.path.join(share, 'config', 'sim_mobile.yaml'),
            description='ROS parameters YAML for sim, adapter, snn_core and readout nodes'),
        DeclareLaunchArgument(
            'use_sim_time', default_value='true',
            description='SNN nodes follow the simulator /clock (the sim itself never does)'),
    ]
    sim = Node(package='snn_ros', executable='sim_node', name='sim',
               parameters=[LaunchConfiguration('params_file'), {'use_sim_time': False}],
               remappings=[('~/reward', '/snn_core/reward')], output='screen')
    graph = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(os.path.join(share, 'launch', 'snn_ros.launch.py')),
        launch_arguments={
            'params_file': LaunchConfiguration('params_file'),
            'adapters': 'laser_scan,imu',
            'scan_topic': '/scan',
            'imu_topic': '/imu',
            'use_sim_time': LaunchConfiguration('use_sim_time'),
            'cmd_vel_topic': '/cmd_vel',
        }.items())
    return LaunchDescription(args + [sim, graph])
