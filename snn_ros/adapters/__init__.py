"""ROS-free sensor adapters: decode message fields and encode them into spikes."""
