"""Image adapter node (event emulation): ``sensor_msgs/Image`` on ``~/image`` -> ``~/spikes``."""

from __future__ import annotations

from typing import Any

from sensor_msgs.msg import Image

from snn_ros.adapters.image import ImageAdapter, ImageConfig
from snn_ros.nodes.adapter_node import AdapterNode
from snn_ros.nodes.common import run


class ImageNode(AdapterNode):
    """Emulate an event camera from ``sensor_msgs/Image`` frames (log-intensity change events)."""

    def __init__(self, node_name: str = 'image', **kwargs: Any) -> None:
        super().__init__(node_name, adapter_cls=ImageAdapter, config_cls=ImageConfig,
                         msg_type=Image, input_topic='~/image', **kwargs)


def main(args: Any = None) -> None:
    """Run the node (``ros2 run snn_ros image_node``)."""
    run(ImageNode, args)


if __name__ == '__main__':
    main()
