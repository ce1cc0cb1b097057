r"""All nodes in one process with one executor (``snn_ros_composed``), for small robots.

Usage::

    ros2 run snn_ros snn_ros_composed --adapters event_camera \\
        --ros-args --params-file config/event_camera.yaml -p use_sim_time:=true

The same params YAML as the separate-process launch applies (it is keyed by node name); the
nodes are the same classes, so the composed graph and the launched one behave alike. The spikes
of the in-process adapters go straight to the core, and the core's readout spikes straight to
the readout (:func:`link_in_process`: a function call instead of a DDS round trip through the
executor; the topics are still published while anyone else subscribes); ``--no-direct`` keeps
every hand-over on DDS.

Like every node process it runs one BLAS thread (``snn_ros.nodes`` sets
``OPENBLAS_NUM_THREADS=1`` unless set), and objects alive after start-up are frozen out of the
garbage collector (:func:`snn_ros.nodes.common.freeze_startup_objects`).
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any, Sequence

import rclpy
from rclpy.executors import Executor, ExternalShutdownException
from rclpy.utilities import remove_ros_args

from snn_ros.nodes.common import EXECUTORS, freeze_startup_objects, make_executor, spin

#: adapter name -> (module, class); also the ``adapters`` choices of the launch files.
ADAPTERS = {
    'event_camera': ('snn_ros.nodes.event_camera_node', 'EventCameraNode'),
    'biosignal': ('snn_ros.nodes.biosignal_node', 'BiosignalNode'),
    'imu': ('snn_ros.nodes.imu_node', 'ImuNode'),
    'joint_state': ('snn_ros.nodes.joint_state_node', 'JointStateNode'),
    'laser_scan': ('snn_ros.nodes.laser_scan_node', 'LaserScanNode'),
    'image': ('snn_ros.nodes.image_node', 'ImageNode'),
    'array': ('snn_ros.nodes.array_node', 'ArrayNode'),
}


def adapter_class(name: str) -> type:
    """Return the node class of adapter ``name`` (a key of :data:`ADAPTERS`)."""
    if name not in ADAPTERS:
        raise ValueError(f'unknown adapter {name!r}; valid: {sorted(ADAPTERS)}')
    module, cls = ADAPTERS[name]
    return getattr(importlib.import_module(module), cls)


def parse_adapters(text: str) -> list[str]:
    """Split ``'event_camera,imu'`` into names, checking each (empty string: none)."""
    names = [n.strip() for n in text.split(',') if n.strip()]
    bad = [n for n in names if n not in ADAPTERS]
    if bad:
        raise ValueError(f'unknown adapters {bad}; valid: {sorted(ADAPTERS)}')
    return names


def build_nodes(adapters: Sequence[str], *, readout: bool = True,
                node_kwargs: dict[str, dict[str, Any]] | None = None) -> list[Any]:
    """Create the adapter nodes, the SNN core node and the readout node (in that order).

    Args:
        adapters: adapter names (keys of :data:`ADAPTERS`).
        readout: also create the readout node.
        node_kwargs: per node name (``'snn_core'``, ``'readout'``, adapter names) extra
            ``Node`` keyword arguments such as ``parameter_overrides``.
    """
    from snn_ros.nodes.readout_node import ReadoutNode
    from snn_ros.nodes.snn_core_node import SnnCoreNode

    node_kwargs = node_kwargs or {}
    nodes = [adapter_class(a)(**node_kwargs.get(a, {})) for a in adapters]
    nodes.append(SnnCoreNode(**node_kwargs.get('snn_core', {})))
    if readout:
        nodes.append(ReadoutNode(**node_kwargs.get('readout', {})))
    return nodes


def link_in_process(nodes: Sequence[Any]) -> list[str]:
    """Connect the nodes' spike topics by direct calls where producer and consumer are here.

    Adapter ``~/spikes`` -> the core input listening on the same resolved topic, and the
    core's ``~/readout_spikes`` -> the readout. The consumer's subscription is destroyed and
    the producer calls it with exactly what the subscriber would have read
    (:class:`snn_ros.nodes.convert.SpikeData`), inside the producer's callback; the topic is
    still published while it has other subscribers. Needs a single-threaded executor (the
    chain runs in one callback). Returns the linked topics.
    """
    from snn_ros.nodes.adapter_node import AdapterNode
    from snn_ros.nodes.readout_node import ReadoutNode
    from snn_ros.nodes.snn_core_node import SnnCoreNode

    linked = []
    adapters = [n for n in nodes if isinstance(n, AdapterNode)]
    readouts = [n for n in nodes if isinstance(n, ReadoutNode)]
    for core in [n for n in nodes if isinstance(n, SnnCoreNode)]:
        for adapter in adapters:
            sink = core.take_input(adapter.spikes_topic)
            if sink is not None:
                adapter.add_local_sink(sink)
                linked.append(adapter.spikes_topic)
        for readout in readouts:
            sink = readout.take_input(core.readout_topic)
            if sink is not None:
                core.add_readout_sink(sink)
                linked.append(core.readout_topic)
    return linked


def destroy_nodes(executor: Executor, nodes: Sequence[Any]) -> None:
    """Tear down nodes spun by ``executor``, last first; save the core's checkpoint first.

    Each node is removed from the executor and destroyed (``shutdown_save`` before, on nodes
    that have it); then the executor shuts down. ``rclpy`` itself stays up.
    """
    for node in reversed(nodes):
        if hasattr(node, 'shutdown_save'):
            node.shutdown_save()
        executor.remove_node(node)
        node.destroy_node()
    executor.shutdown()


def main(args: Any = None) -> None:
    """Run the selected adapters, the core and the readout in one executor."""
    rclpy.init(args=args)
    parser = argparse.ArgumentParser(prog='snn_ros_composed', description=__doc__.split('\n')[0])
    parser.add_argument('--adapters', default='event_camera',
                        help=f'comma-separated adapter nodes to run: {", ".join(ADAPTERS)} '
                             "('' for none, e.g. when spikes come from elsewhere)")
    parser.add_argument('--no-readout', action='store_true', help='do not run the readout node')
    parser.add_argument('--no-direct', action='store_true',
                        help='hand spikes between the nodes over DDS, not by direct calls')
    parser.add_argument('--executor', choices=EXECUTORS, default='auto',
                        help="'events': rclpy's EventsExecutor (Kilted on; C++ event queue), "
                             "'single': SingleThreadedExecutor, 'auto': events when available")
    opts = parser.parse_args(remove_ros_args(args)[1:])
    nodes: list[Any] = []
    executor = make_executor(opts.executor)
    try:
        nodes = build_nodes(parse_adapters(opts.adapters), readout=not opts.no_readout)
        if not opts.no_direct:
            linked = link_in_process(nodes)
            nodes[-1].get_logger().info(f'in-process hand-over on {linked}')
        for node in nodes:
            executor.add_node(node)
        freeze_startup_objects()
        spin(executor)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        destroy_nodes(executor, nodes)
        rclpy.try_shutdown()


if __name__ == '__main__':
    main()
