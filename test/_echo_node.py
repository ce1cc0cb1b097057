"""Echo process for the cross-process DDS tests: republish every message it receives.

Usage: python _echo_node.py module.Type [module.Type ...]; for each type T it subscribes to
``/snn_ros_test/in/<T>`` and republishes on ``/snn_ros_test/out/<T>`` until killed.
"""

from __future__ import annotations

import importlib
import sys

import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy


def _type(path: str):
    module, name = path.rsplit('.', 1)
    return getattr(importlib.import_module(module), name)


def main() -> None:
    """Run the echo node until SIGINT/SIGTERM."""
    rclpy.init()
    node = Node('snn_ros_test_echo')
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    keep = []
    for path in sys.argv[1:]:
        msg_type = _type(path)
        name = msg_type.__name__
        pub = node.create_publisher(msg_type, f'/snn_ros_test/out/{name}', qos)
        keep.append(node.create_subscription(msg_type, f'/snn_ros_test/in/{name}',
                                             pub.publish, qos))
    print('ready', flush=True)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()


if __name__ == '__main__':
    main()
