"""Joint state adapter node: ``JointState`` on ``~/joint_states`` -> ``~/spikes``."""

from __future__ import annotations

from typing import Any

from sensor_msgs.msg import JointState

from snn_ros.adapters.joint_state import JointStateAdapter, JointStateConfig
from snn_ros.nodes.adapter_node import AdapterNode
from snn_ros.nodes.common import run


class JointStateNode(AdapterNode):
    """Encode ``sensor_msgs/JointState`` positions and velocities with population coding."""

    def __init__(self, node_name: str = 'joint_state', **kwargs: Any) -> None:
        super().__init__(node_name, adapter_cls=JointStateAdapter, config_cls=JointStateConfig,
                         msg_type=JointState, input_topic='~/joint_states', **kwargs)


def main(args: Any = None) -> None:
    """Run the node (``ros2 run snn_ros joint_state_node``)."""
    run(JointStateNode, args)


if __name__ == '__main__':
    main()
