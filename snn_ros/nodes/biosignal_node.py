"""Biosignal adapter node: ``Float32MultiArray`` chunks on ``~/signal`` -> ``~/spikes``."""

from __future__ import annotations

from typing import Any

from std_msgs.msg import Float32MultiArray

from snn_ros.adapters.biosignal import BiosignalAdapter, BiosignalConfig
from snn_ros.nodes.adapter_node import AdapterNode
from snn_ros.nodes.common import run


class BiosignalNode(AdapterNode):
    """Encode multichannel biosignal chunks (``Float32MultiArray``, samples x channels)."""

    def __init__(self, node_name: str = 'biosignal', **kwargs: Any) -> None:
        super().__init__(node_name, adapter_cls=BiosignalAdapter, config_cls=BiosignalConfig,
                         msg_type=Float32MultiArray, input_topic='~/signal', **kwargs)


def main(args: Any = None) -> None:
    """Run the node (``ros2 run snn_ros biosignal_node``)."""
    run(BiosignalNode, args)


if __name__ == '__main__':
    main()
