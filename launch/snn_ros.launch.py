r"""Launch the snn_ros graph: sensor adapter node(s), the learning SNN core and the readout.

Separate processes by default (one per node, for bigger robots); ``use_composition:=true``
runs the same nodes in one process with one executor (``snn_ros_composed``), for low latency
on small robots. Both read the same ``params_file`` (keyed by node name).

Example::

    ros2 launch snn_ros snn_ros.launch.py adapters:=event_camera \\
        params_file:=$(ros2 pkg prefix snn_ros)/share/snn_ros/config/event_camera.yaml
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

#: adapter name -> (executable, private input topic, launch argument naming the sensor topic)
ADAPTERS = {
    'event_camera': ('event_camera_node', '~/events', 'events_topic'),
    'biosignal': ('biosignal_node', '~/signal', 'signal_topic'),
    'imu': ('imu_node', '~/imu', 'imu_topic'),
    'joint_state': ('joint_state_node', '~/joint_states', 'joint_states_topic'),
    'laser_scan': ('laser_scan_node', '~/scan', 'scan_topic'),
    'image': ('image_node', '~/image', 'image_topic'),
    'array': ('array_node', '~/input', 'array_topic'),
}
SENSOR_TOPIC_DEFAULTS = {
    'events_topic': '/event_camera/events',
    'signal_topic': '/biosignal/signal',
    'imu_topic': '/imu/data',
    'joint_states_topic': '/joint_states',
    'scan_topic': '/scan',
    'image_topic': '/camera/image_raw',
    'array_topic': '/sensor/array',
}


def _truthy(text):
    return text.strip().lower() in ('true', '1', 'yes', 'on')


def _launch_nodes(context):
    adapters = [a.strip() for a in LaunchConfiguration('adapters').perform(context).split(',')
                if a.strip()]
    unknown = [a for a in adapters if a not in ADAPTERS]
    if unknown:
        raise RuntimeError(f'unknown adapters {unknown}; valid: {sorted(ADAPTERS)}')
    use_sim_time = _truthy(LaunchConfiguration('use_sim_time').perform(context))
    checkpoint = LaunchConfiguration('checkpoint').perform(context)
    namespace = LaunchConfiguration('namespace').perform(context)
    log_level = LaunchConfiguration('log_level').perform(context)
    params = [LaunchConfiguration('params_file'), {'use_sim_time': use_sim_time}]
    core_params = params + ([{'checkpoint': checkpoint}] if checkpoint else [])
    remaps = [(ADAPTERS[a][1], LaunchConfiguration(ADAPTERS[a][2])) for a in adapters]
    ros_args = ['--log-level', log_level]
    if _truthy(LaunchConfiguration('use_composition').perform(context)):
        return [Node(package='snn_ros', executable='snn_ros_composed', namespace=namespace,
                     arguments=['--adapters', ','.join(adapters)], parameters=core_params,
                     remappings=remaps, ros_arguments=ros_args, output='screen')]
    nodes = [Node(package='snn_ros', executable=ADAPTERS[a][0], name=a, namespace=namespace,
                  parameters=params, remappings=[remaps[k]], ros_arguments=ros_args,
                  output='screen')
             for k, a in enumerate(adapters)]
    nodes.append(Node(package='snn_ros', executable='snn_core_node', name='snn_core',
                      namespace=namespace, parameters=core_params, ros_arguments=ros_args,
                      output='screen'))
    nodes.append(Node(package='snn_ros', executable='readout_node', name='readout',
                      namespace=namespace, parameters=params, ros_arguments=ros_args,
                      remappings=[('cmd_vel', LaunchConfiguration('cmd_vel_topic'))],
                      output='screen'))
    return nodes


def generate_launch_description():
    """Declare the arguments and the nodes they select."""
    share = get_package_share_directory('snn_ros')
    args = [
        DeclareLaunchArgument(
            'adapters', default_value='event_camera',
            description='comma-separated sensor adapters to run: ' + ', '.join(ADAPTERS)),
        DeclareLaunchArgument(
            'params_file', default_value=os.path.join(share, 'config', 'event_camera.yaml'),
            description='ROS parameters YAML for all nodes (keyed by node name)'),
        DeclareLaunchArgument(
            'use_sim_time', default_value='false',
            description='use /clock (bag replay with --clock, simulators) instead of wall time'),
        DeclareLaunchArgument(
            'use_composition', default_value='false',
            description='run all nodes in one process with one executor (snn_ros_composed)'),
        DeclareLaunchArgument(
            'checkpoint', default_value='',
            description='network checkpoint .npz: loaded at start when it exists, saved '
                        'periodically and on shutdown (empty: the params file value)'),
        DeclareLaunchArgument(
            'namespace', default_value='', description='namespace of every node'),
        DeclareLaunchArgument(
            'cmd_vel_topic', default_value='cmd_vel',
            description='topic of the geometry_msgs/Twist command of the readout node'),
        DeclareLaunchArgument(
            'log_level', default_value='info', description='ROS log level of every node'),
    ]
    args += [DeclareLaunchArgument(name, default_value=default,
                                   description=f'sensor topic of the {adapter} adapter')
             for adapter, (_, _, name) in ADAPTERS.items()
             for default in [SENSOR_TOPIC_DEFAULTS[name]]]
    return LaunchDescription(args + [OpaqueFunction(function=_launch_nodes)])
