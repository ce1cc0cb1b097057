"""Event camera adapter node: ``EventPacket`` on ``~/events`` -> ``SpikeEvents`` (``~/spikes``)."""

from __future__ import annotations

from typing import Any

from event_camera_msgs.msg import EventPacket
import numpy as np

from snn_ros.adapters.event_camera import EventCameraAdapter, EventCameraConfig
from snn_ros.adapters.event_codecs import encode_evt3
from snn_ros.nodes.adapter_node import AdapterNode
from snn_ros.nodes.common import run


class EventCameraNode(AdapterNode):
    """Decode ``EventPacket`` (evt3, libcaer, mono, trigger) and bin it to the input grid."""

    def __init__(self, node_name: str = 'event_camera', **kwargs: Any) -> None:
        super().__init__(node_name, adapter_cls=EventCameraAdapter, config_cls=EventCameraConfig,
                         msg_type=EventPacket, input_topic='~/events', **kwargs)

    def warmup_message(self) -> EventPacket:
        """Return a small evt3 packet (compiles the decoder and binner at start-up)."""
        n = 64
        t = np.arange(n, dtype=np.int64) * 50_000
        msg = EventPacket(width=64, height=64, encoding='evt3', time_base=0)
        msg.events = encode_evt3(np.arange(n) % 64, np.arange(n) // 2 % 64, np.arange(n) % 2, t)
        return msg


def main(args: Any = None) -> None:
    """Run the node (``ros2 run snn_ros event_camera_node``)."""
    run(EventCameraNode, args)


if __name__ == '__main__':
    main()
