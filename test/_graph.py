"""Helpers of the ROS graph tests: small configs, generated EVT3 streams, a spinning harness."""

from __future__ import annotations

from collections import defaultdict
import time
from typing import Any, Callable

import numpy as np
import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy

from event_camera_msgs.msg import EventPacket
from snn_ros.adapters.event_codecs import encode_evt3, new_evt3_encoder_state

RELIABLE = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
SENSOR_W, SENSOR_H = 64, 64
GRID = 8  # 2 polarities x 8 x 8 = 128 input channels
WINDOW = 20  # steps per decision (1 ms steps)


def params(values: dict[str, Any]) -> list[Parameter]:
    """Return parameter overrides from a dict."""
    return [Parameter(k, value=v) for k, v in values.items()]


CAMERA = {'out_width': GRID, 'out_height': GRID, 'polarity_channels': 2}
CORE = {'mode': 'data', 'seed': 3, 'n_inputs': 2 * GRID * GRID,
        'inputs.topics': ['event_camera/spikes'], 'inputs.offsets': [0], 'inputs.sizes': [0],
        'layers.n_layers': 1, 'layers.n_hidden': 64, 'layers.block_size': 16,
        'layers.p_input': 0.3, 'layers.w_input': 0.3,
        'readout.n_classes': 2, 'readout.pop_size': 4, 'readout.window_steps': WINDOW,
        'modulation.n_populations': 4, 'modulation.fan_in': 2,
        'plasticity.lr_hidden': 0.001, 'plasticity.lr_readout': 0.05,
        'status_period_s': 0.2}
READOUT = {'n_classes': 2, 'window_steps': WINDOW, 'class_names': ['left', 'right'],
           'control.table_linear_x': [0.2, 0.2], 'control.table_angular_z': [0.5, -0.5],
           'watchdog.deadline_s': 0.5, 'diagnostics_period_s': 0.2}


class EventStream:
    """A generated EVT3 stream: each packet is one decision window of events on one side."""

    def __init__(self, seed: int = 0, rate_per_ms: int = 30) -> None:
        self.rng = np.random.default_rng(seed)
        self.state = new_evt3_encoder_state()
        self.t_ms = 0
        self.rate = rate_per_ms

    def packet(self, side: int, steps: int = WINDOW) -> EventPacket:
        """Return the next packet: ``steps`` ms of events in the left (0) or right (1) half."""
        n = self.rate * steps
        t = np.sort(self.rng.integers(0, steps * 1000, n)) * 1000 + self.t_ms * 1_000_000
        t[0], t[-1] = self.t_ms * 1_000_000, (self.t_ms + steps) * 1_000_000 - 1000
        x = self.rng.integers(0, SENSOR_W // 2, n) + side * SENSOR_W // 2
        y = self.rng.integers(0, SENSOR_H, n)
        p = self.rng.integers(0, 2, n)
        self.t_ms += steps
        msg = EventPacket(width=SENSOR_W, height=SENSOR_H, encoding='evt3', time_base=0,
                          seq=self.t_ms)
        msg.header.frame_id = 'camera'
        msg.events = encode_evt3(x, y, p, t, state=self.state)
        return msg


class Graph:
    """A private context, one executor, the nodes under test and a probe node."""

    def __init__(self) -> None:
        self.context = Context()
        rclpy.init(context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.nodes: list[Node] = []
        self.probe = self.add(Node('probe', context=self.context))
        self.received: dict[str, list[Any]] = defaultdict(list)
        self._pubs: dict[str, Any] = {}

    def add(self, node: Node) -> Any:
        """Add a node to the executor and return it."""
        self.nodes.append(node)
        self.executor.add_node(node)
        return node

    def listen(self, msg_type: type, topic: str, qos: QoSProfile = RELIABLE) -> list[Any]:
        """Record every message on ``topic``; return the list that fills up."""
        self.probe.create_subscription(msg_type, topic, self.received[topic].append, qos)
        return self.received[topic]

    def publisher(self, msg_type: type, topic: str, qos: QoSProfile = RELIABLE) -> Any:
        """Return the probe's publisher of ``topic`` (created on first use)."""
        if topic not in self._pubs:
            self._pubs[topic] = self.probe.create_publisher(msg_type, topic, qos)
        return self._pubs[topic]

    def publish(self, msg_type: type, topic: str, msg: Any, qos: QoSProfile = RELIABLE) -> None:
        """Publish ``msg`` on ``topic`` from the probe."""
        self.publisher(msg_type, topic, qos).publish(msg)

    def wait_for_subscribers(self, topic: str, count: int = 1, timeout: float = 30.0) -> None:
        """Spin until ``topic`` (published by the probe) has ``count`` subscribers."""
        self.spin_until(lambda: self._pubs[topic].get_subscription_count() >= count, timeout)

    def spin_until(self, done: Callable[[], bool], timeout: float = 30.0) -> bool:
        """Spin until ``done()`` or the (generous) timeout; return ``done()``."""
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.02)
        return done()

    def spin_for(self, seconds: float) -> None:
        """Spin for a while (to let the watchdog or timers fire)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.02)

    def call(self, srv_type: type, name: str, request: Any, timeout: float = 30.0) -> Any:
        """Call a service from the probe and spin until the response."""
        client = self.probe.create_client(srv_type, name)
        self.spin_until(client.service_is_ready, timeout)
        future = client.call_async(request)
        self.spin_until(future.done, timeout)
        return future.result()

    def close(self) -> None:
        """Destroy every node and shut the context down."""
        for node in reversed(self.nodes):
            self.executor.remove_node(node)
            node.destroy_node()
        self.executor.shutdown()
        rclpy.shutdown(context=self.context)


def diag_values(diagnostics: list[Any], name_part: str) -> dict[str, str]:
    """Return the key/values of the latest /diagnostics status whose name has ``name_part``."""
    for arr in reversed(diagnostics):
        for status in arr.status:
            if name_part in status.name:
                return {kv.key: kv.value for kv in status.values}
    return {}
