"""Bags written at test time with rosbags: EventPacket (evt3), Imu, biosignal, labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from snn_ros.bagio import BagWriter

T0_NS = 1_700_000_000_000_000_000
CAM_W, CAM_H = 64, 48
EVENTS_TOPIC = '/event_camera/events'
IMU_TOPIC = '/imu/imu'
SIGNAL_TOPIC = '/biosignal/signal'
LABEL_TOPIC = '/snn_core/label'

PARAMS_YAML = '''\
event_camera:
  ros__parameters:
    out_width: 16
    out_height: 12
imu:
  ros__parameters:
    encoding: delta
biosignal:
  ros__parameters:
    sample_rate_hz: 1000.0
    channel_names: [emg0, emg1]
    delta:
      threshold: 0.1
snn_core:
  ros__parameters:
    mode: data
    seed: 3
    status_period_s: 3600.0
    warmup: false
    n_inputs: 400
    inputs:
      topics: [event_camera/spikes, imu/spikes, biosignal/spikes]
      offsets: [0, 384, 396]
      sizes: [384, 12, 4]
    layers:
      n_layers: 1
      n_hidden: 64
      block_size: 16
      p_input: 0.3
      w_input: 0.6
    readout:
      n_classes: 3
      pop_size: 4
      window_steps: 50
      w_readout: 0.5
    neuron:
      target_rate_hz: 20.0
readout:
  ros__parameters:
    n_classes: 3
    window_steps: 50
    control:
      table_linear_x: [0.1, 0.2, 0.3]
      table_angular_z: [-0.5, 0.0, 0.5]
'''


def event_payloads(n_packets: int, packet_ns: int, seed: int = 0, n_events: int = 300):
    """Yield (t_first_ns, evt3 payload) of a bar sweeping over a 64x48 sensor."""
    from snn_ros.adapters.event_codecs import encode_evt3, new_evt3_encoder_state

    rng = np.random.default_rng(seed)
    state = new_evt3_encoder_state()
    for k in range(n_packets):
        col = (3 * k) % CAM_W
        n = n_events
        y = rng.integers(0, CAM_H, n)
        x = np.clip(col + rng.integers(-2, 3, n), 0, CAM_W - 1)
        p = (rng.random(n) < 0.5).astype(np.int64)
        t = np.sort(k * packet_ns + rng.integers(0, packet_ns, n)) + 1000
        yield int(t[0]), encode_evt3(x, y, p, t, state=state)


def write_test_bag(path: Path, storage: str = 'mcap', n_packets: int = 40,
                   packet_ns: int = 25_000_000, labels: bool = True,
                   n_events: int = 300) -> Path:
    """Write a bag with EventPacket, Imu, Float32MultiArray and Int32 label topics."""
    w = BagWriter(path, storage)
    types = w.ts.types
    msgs = []
    if labels:
        msgs.append((T0_NS - 20_000_000, LABEL_TOPIC, 'std_msgs/msg/Int32',
                     types['std_msgs/msg/Int32'](data=1)))
        # change far from any decision window end (windows end every 50 steps)
        msgs.append((T0_NS + (n_packets // 2) * packet_ns + packet_ns // 3, LABEL_TOPIC,
                     'std_msgs/msg/Int32', types['std_msgs/msg/Int32'](data=2)))
    for k, (_, payload) in enumerate(event_payloads(n_packets, packet_ns, n_events=n_events)):
        t = T0_NS + k * packet_ns
        ev = types['event_camera_msgs/msg/EventPacket'](
            header=w.header(t, 'camera'), height=CAM_H, width=CAM_W, seq=k, time_base=0,
            encoding='evt3', is_bigendian=False, events=np.frombuffer(payload, np.uint8))
        msgs.append((t, EVENTS_TOPIC, 'event_camera_msgs/msg/EventPacket', ev))
    vec = types['geometry_msgs/msg/Vector3']
    for k in range(n_packets // 2):
        t = T0_NS + k * 2 * packet_ns + 7_000_000
        ph = 0.3 * k
        imu = types['sensor_msgs/msg/Imu'](
            header=w.header(t, 'imu'),
            orientation=types['geometry_msgs/msg/Quaternion'](x=0.0, y=0.0, z=0.0, w=1.0),
            orientation_covariance=np.zeros(9),
            angular_velocity=vec(x=np.sin(ph), y=np.cos(ph), z=0.1 * k),
            angular_velocity_covariance=np.zeros(9),
            linear_acceleration=vec(x=2 * np.sin(ph), y=9.81, z=np.cos(2 * ph)),
            linear_acceleration_covariance=np.zeros(9))
        msgs.append((t, IMU_TOPIC, 'sensor_msgs/msg/Imu', imu))
    dim = types['std_msgs/msg/MultiArrayDimension']
    for k in range(n_packets // 4):
        t = T0_NS + k * 4 * packet_ns + 13_000_000
        n = 40
        s = np.arange(n) + k * n
        x = np.stack([np.sin(s / 7.0), np.cos(s / 11.0)], 1).astype(np.float32)
        layout = types['std_msgs/msg/MultiArrayLayout'](
            dim=[dim(label='time', size=n, stride=2 * n), dim(label='channels', size=2,
                                                              stride=2)], data_offset=0)
        msgs.append((t, SIGNAL_TOPIC, 'std_msgs/msg/Float32MultiArray',
                     types['std_msgs/msg/Float32MultiArray'](layout=layout,
                                                             data=x.reshape(-1))))
    msgs.sort(key=lambda m: m[0])
    for t, topic, typ, msg in msgs:
        w.write(topic, typ, t, msg)
    w.close()
    return path


def storage_file(bag: Path) -> Path:
    """Return the single storage file (.mcap or .db3) of a rosbag2 folder."""
    files = [f for f in bag.iterdir() if f.suffix in ('.mcap', '.db3')]
    assert len(files) == 1, files
    return files[0]
