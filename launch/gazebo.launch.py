"""Gazebo (gz sim) for real installs: the arena world, ros_gz_bridge and the same SNN graph.

Starts ``gz sim`` on config/gz_mobile_world.sdf (a differential-drive robot with lidar and IMU
in the arena of the MuJoCo mobile task), ``ros_gz_bridge``'s ``parameter_bridge`` with
config/gz_bridge.yaml (``/clock``, ``/cmd_vel``, ``/scan``, ``/imu``, ``/joint_states``) and
includes snn_ros.launch.py with the laser_scan and imu adapters and config/sim_mobile.yaml,
exactly as launch/sim_mobile.launch.py does for MuJoCo. Gazebo has no reward topic: publish
one on ``/snn_core/reward`` (``std_msgs/Float32``) to keep learning, or pass a
``checkpoint`` learned in MuJoCo.

Needs ``ros-<distro>-ros-gz`` (ros_gz_sim, ros_gz_bridge) and Gazebo; neither installs on the
development and CI machines, so this file is only checked statically there.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, IncludeLaunchDescription
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration


def generate_launch_description():
    """Declare the arguments, start gz sim and the bridge, and include the SNN graph."""
    share = get_package_share_directory('snn_ros')
    args = [
        DeclareLaunchArgument(
            'world', default_value=os.path.join(share, 'config', 'gz_mobile_world.sdf'),
            description='SDF world started by gz sim'),
        DeclareLaunchArgument(
            'bridge_config', default_value=os.path.join(share, 'config', 'gz_bridge.yaml'),
            description='ros_gz_bridge YAML mapping cmd_vel, scan, imu, joint_states, clock'),
        DeclareLaunchArgument(
            'params_file', default_value=os.path.join(share, 'config', 'sim_mobile.yaml'),
            description='ROS parameters YAML of the adapter, snn_core and readout nodes'),
        DeclareLaunchArgument(
            'gui', default_value='false', description='also start the Gazebo GUI'),
        DeclareLaunchArgument(
            'use_sim_time', default_value='true',
            description='SNN nodes follow the Gazebo /clock bridged to ROS'),
    ]
    gz_server = ExecuteProcess(cmd=['gz', 'sim', '-r', '-s', LaunchConfiguration('world')],
                               output='screen')
    gz_gui = ExecuteProcess(cmd=['gz', 'sim', '-g'], output='screen',
                            condition=IfCondition(LaunchConfiguration('gui')))
    # ros_gz_bridge's parameter_bridge (run through ros2 run: it is another package's node).
    bridge = ExecuteProcess(
        cmd=['ros2', 'run', 'ros_gz_bridge', 'parameter_bridge', '--ros-args',
             '-r', '__node:=gz_bridge', '-p', 'use_sim_time:=true',
             '-p', ['config_file:=', LaunchConfiguration('bridge_config')]],
        output='screen')
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
    return LaunchDescription(args + [gz_server, gz_gui, bridge, graph])
