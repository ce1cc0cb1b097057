"""Small ROS-free helpers: read sensor messages from ROS 1 / ROS 2 bags, build test messages.

Reading uses rosbags' ``AnyReader`` (ROS 1 ``.bag`` files and ROS 2 bag folders); the messages
it returns have the same field names as rclpy messages, so they go straight into the adapters.
The ``make_*`` builders return rosbags message objects (ROS 2 Humble definitions) for tests and
offline replay; ``write_bag`` writes such messages into a ROS 2 bag.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.highlevel import AnyReader
from rosbags.typesys import get_typestore, Stores

NS_PER_S = 1_000_000_000


def typestore(ros1: bool = False) -> Any:
    """Return the rosbags typestore used by the helpers (ROS 1 Noetic or ROS 2 Humble)."""
    return get_typestore(Stores.ROS1_NOETIC if ros1 else Stores.ROS2_HUMBLE)


def read_messages(path: str | Path, topics: Sequence[str] | str,
                  limit: int | None = None) -> Iterator[tuple[str, int, Any]]:
    """Yield ``(topic, bag_time_ns, message)`` for the given topics, in bag time order.

    Args:
        path: a ROS 1 ``.bag`` file or a ROS 2 bag directory.
        topics: topic name or names.
        limit: stop after this many messages (None = all).

    """
    if isinstance(topics, str):
        topics = [topics]
    path = Path(path)
    store = typestore(ros1=path.suffix == '.bag')
    with AnyReader([path], default_typestore=store) as reader:
        conns = [c for c in reader.connections if c.topic in topics]
        for k, (conn, t_ns, raw) in enumerate(reader.messages(connections=conns)):
            if limit is not None and k >= limit:
                break
            yield conn.topic, int(t_ns), reader.deserialize(raw, conn.msgtype)


def topic_counts(path: str | Path) -> dict[str, int]:
    """Return ``{topic: message count}`` of a bag."""
    path = Path(path)
    with AnyReader([path], default_typestore=typestore(ros1=path.suffix == '.bag')) as reader:
        counts: dict[str, int] = {}
        for conn in reader.connections:
            counts[conn.topic] = counts.get(conn.topic, 0) + conn.msgcount
        return counts


def write_bag(path: str | Path, messages: Iterable[tuple[str, int, Any]]) -> None:
    """Write ``(topic, t_ns, message)`` tuples into a new ROS 2 bag directory at ``path``."""
    from rosbags.rosbag2 import Writer
    store = typestore()
    with Writer(Path(path), version=8) as writer:
        conns: dict[str, Any] = {}
        for topic, t_ns, msg in messages:
            if topic not in conns:
                conns[topic] = writer.add_connection(topic, msg.__msgtype__, typestore=store)
            writer.write(conns[topic], int(t_ns), store.serialize_cdr(msg, msg.__msgtype__))


def _types() -> Any:
    return typestore().types


def make_header(t_ns: int, frame_id: str = '') -> Any:
    """Return a std_msgs/Header stamped ``t_ns``."""
    types = _types()
    sec, nanosec = divmod(int(t_ns), NS_PER_S)
    stamp = types['builtin_interfaces/msg/Time'](sec=sec, nanosec=nanosec)
    return types['std_msgs/msg/Header'](stamp=stamp, frame_id=frame_id)


def make_multiarray(samples: np.ndarray, labels: tuple[str, str] = ('time', 'channels'),
                    data_offset: int = 0) -> Any:
    """Return a Float32MultiArray holding ``samples`` (1-D, or 2-D ``[time, channels]``)."""
    types = _types()
    arr = np.asarray(samples, np.float32)
    dim_t = types['std_msgs/msg/MultiArrayDimension']
    if arr.ndim == 1:
        dims = [dim_t(label=labels[0], size=arr.shape[0], stride=arr.shape[0])]
    else:
        n, c = arr.shape
        dims = [dim_t(label=labels[0], size=n, stride=n * c),
                dim_t(label=labels[1], size=c, stride=c)]
    layout = types['std_msgs/msg/MultiArrayLayout'](dim=dims, data_offset=data_offset)
    data = np.concatenate([np.zeros(data_offset, np.float32), arr.reshape(-1)])
    return types['std_msgs/msg/Float32MultiArray'](layout=layout, data=data)


def make_imu(t_ns: int, accel: Sequence[float], gyro: Sequence[float]) -> Any:
    """Return a sensor_msgs/Imu with the given acceleration and angular velocity."""
    types = _types()
    vec = types['geometry_msgs/msg/Vector3']
    quat = types['geometry_msgs/msg/Quaternion'](x=0.0, y=0.0, z=0.0, w=1.0)
    cov = np.zeros(9)
    return types['sensor_msgs/msg/Imu'](
        header=make_header(t_ns), orientation=quat, orientation_covariance=cov.copy(),
        angular_velocity=vec(x=float(gyro[0]), y=float(gyro[1]), z=float(gyro[2])),
        angular_velocity_covariance=cov.copy(),
        linear_acceleration=vec(x=float(accel[0]), y=float(accel[1]), z=float(accel[2])),
        linear_acceleration_covariance=cov.copy())


def make_joint_state(t_ns: int, names: Sequence[str], position: Sequence[float] = (),
                     velocity: Sequence[float] = (), effort: Sequence[float] = ()) -> Any:
    """Return a sensor_msgs/JointState."""
    return _types()['sensor_msgs/msg/JointState'](
        header=make_header(t_ns), name=list(names), position=np.asarray(position, np.float64),
        velocity=np.asarray(velocity, np.float64), effort=np.asarray(effort, np.float64))


def make_laser_scan(t_ns: int, ranges: Sequence[float], angle_min: float = -np.pi,
                    angle_max: float | None = None, range_min: float = 0.1,
                    range_max: float = 10.0) -> Any:
    """Return a sensor_msgs/LaserScan with rays evenly over ``[angle_min, angle_max)``."""
    ranges = np.asarray(ranges, np.float32)
    if angle_max is None:
        angle_max = -angle_min
    inc = (angle_max - angle_min) / max(len(ranges), 1)
    return _types()['sensor_msgs/msg/LaserScan'](
        header=make_header(t_ns), angle_min=float(angle_min),
        angle_max=float(angle_min + inc * (len(ranges) - 1)), angle_increment=float(inc),
        time_increment=0.0, scan_time=0.1, range_min=float(range_min),
        range_max=float(range_max), ranges=ranges, intensities=np.zeros(0, np.float32))


def make_image(t_ns: int, pixels: np.ndarray, encoding: str = 'mono8', step: int | None = None,
               is_bigendian: int = 0) -> Any:
    """Return a sensor_msgs/Image from ``pixels`` ([h, w] or [h, w, c]), rows padded to step."""
    pixels = np.asarray(pixels)
    h, w = pixels.shape[:2]
    if pixels.dtype == np.uint16:
        pixels = pixels.astype('>u2' if is_bigendian else '<u2')
    row = pixels.reshape(h, -1).view(np.uint8).reshape(h, -1)
    step = row.shape[1] if step is None else step
    data = np.zeros((h, step), np.uint8)
    data[:, :row.shape[1]] = row
    return _types()['sensor_msgs/msg/Image'](
        header=make_header(t_ns), height=h, width=w, encoding=encoding,
        is_bigendian=is_bigendian, step=step, data=data.reshape(-1))
