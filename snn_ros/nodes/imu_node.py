"""IMU adapter node: ``sensor_msgs/Imu`` on ``~/imu`` -> ``SpikeEvents`` on ``~/spikes``."""

from __future__ import annotations

from typing import Any

from sensor_msgs.msg import Imu

from snn_ros.adapters.imu import ImuAdapter, ImuConfig
from snn_ros.nodes.adapter_node import AdapterNode
from snn_ros.nodes.common import run


class ImuNode(AdapterNode):
    """Encode ``sensor_msgs/Imu`` acceleration and angular rate into spikes."""

    def __init__(self, node_name: str = 'imu', **kwargs: Any) -> None:
        super().__init__(node_name, adapter_cls=ImuAdapter, config_cls=ImuConfig,
                         msg_type=Imu, input_topic='~/imu', **kwargs)


def main(args: Any = None) -> None:
    """Run the node (``ros2 run snn_ros imu_node``)."""
    run(ImuNode, args)


if __name__ == '__main__':
    main()
