"""Send or count large EventPackets with sensor-data QoS (for test_dds_profile.py).

Usage: python _big_packets.py recv N_BYTES SECONDS [COUNT] | ... send N_BYTES COUNT
``recv`` prints ``ready``, then the number of packets of N_BYTES it received in SECONDS
(it stops early once it has COUNT).
"""

from __future__ import annotations

import sys
import time

from event_camera_msgs.msg import EventPacket
import rclpy
from rclpy.qos import qos_profile_sensor_data

TOPIC = '/snn_ros_test/big_packets'


def main() -> None:
    """Run the sender or the receiver."""
    role, n_bytes, arg = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    rclpy.init()
    try:
        node = rclpy.create_node(f'snn_ros_test_big_{role}')
        if role == 'recv':
            got = []
            node.create_subscription(EventPacket, TOPIC,
                                     lambda m: got.append(len(m.events) == n_bytes),
                                     qos_profile_sensor_data)
            print('ready', flush=True)
            end = time.monotonic() + arg
            want = int(sys.argv[4]) if len(sys.argv) > 4 else -1
            while time.monotonic() < end and len(got) != want:
                rclpy.spin_once(node, timeout_sec=0.05)
            print(sum(got), flush=True)
        else:
            pub = node.create_publisher(EventPacket, TOPIC, qos_profile_sensor_data)
            msg = EventPacket(encoding='evt3', width=640, height=480)
            msg.events = bytes(n_bytes)
            end = time.monotonic() + 10.0
            while pub.get_subscription_count() == 0 and time.monotonic() < end:
                time.sleep(0.05)
            time.sleep(0.5)
            for _ in range(int(arg)):
                pub.publish(msg)
                time.sleep(0.02)
        node.destroy_node()
    finally:
        rclpy.shutdown()


if __name__ == '__main__':
    main()
