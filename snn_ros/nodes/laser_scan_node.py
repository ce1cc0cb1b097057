"""Laser scan adapter node: ``LaserScan`` on ``~/scan`` -> ``SpikeEvents`` on ``~/spikes``."""

from __future__ import annotations

from typing import Any

from sensor_msgs.msg import LaserScan

from snn_ros.adapters.laser_scan import LaserScanAdapter, LaserScanConfig
from snn_ros.nodes.adapter_node import AdapterNode
from snn_ros.nodes.common import run


class LaserScanNode(AdapterNode):
    """Encode ``sensor_msgs/LaserScan`` range bins into spikes."""

    def __init__(self, node_name: str = 'laser_scan', **kwargs: Any) -> None:
        super().__init__(node_name, adapter_cls=LaserScanAdapter, config_cls=LaserScanConfig,
                         msg_type=LaserScan, input_topic='~/scan', **kwargs)


def main(args: Any = None) -> None:
    """Run the node (``ros2 run snn_ros laser_scan_node``)."""
    run(LaserScanNode, args)


if __name__ == '__main__':
    main()
