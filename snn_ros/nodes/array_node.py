"""Generic array adapter node: ``Float32MultiArray`` on ``~/input`` -> ``~/spikes``."""

from __future__ import annotations

from typing import Any

from std_msgs.msg import Float32MultiArray

from snn_ros.adapters.array import ArrayAdapter, ArrayConfig
from snn_ros.nodes.adapter_node import AdapterNode
from snn_ros.nodes.common import run


class ArrayNode(AdapterNode):
    """Encode a generic ``std_msgs/Float32MultiArray`` (low-power edge sensors) into spikes."""

    def __init__(self, node_name: str = 'array', **kwargs: Any) -> None:
        super().__init__(node_name, adapter_cls=ArrayAdapter, config_cls=ArrayConfig,
                         msg_type=Float32MultiArray, input_topic='~/input', **kwargs)


def main(args: Any = None) -> None:
    """Run the node (``ros2 run snn_ros array_node``)."""
    run(ArrayNode, args)


if __name__ == '__main__':
    main()
