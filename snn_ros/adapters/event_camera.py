"""Event-camera adapter: ``event_camera_msgs/EventPacket`` in, input spike indices per step out.

The adapter is duck-typed on the packet fields ``header``, ``height``, ``width``, ``seq``,
``time_base``, ``encoding``, ``is_bigendian`` and ``events``, so the same object serves rclpy
messages live and rosbags messages in replay. Decoding (:mod:`snn_ros.adapters.event_codecs`)
keeps per-stream state across packets; binning (:mod:`snn_ros.adapters.event_binning`) maps the
events to the network's step and input grid. Spike times are on the sensor's time axis
(int64 ns, non-decreasing across packets and wraps).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from snn_ros.adapters.base import Adapter, SpikeBatch
from snn_ros.adapters.errors import GeometryError, OutOfRangeError, ShapeError
from snn_ros.adapters.event_binning import EventBinner
from snn_ros.adapters.event_codecs import (DecodedEvents, encoding_code, MAX_TIME_BASE_NS,
                                           payload_array, StreamDecoder)
from snn_ros.core.config import _f, _validate
from snn_ros.core.errors import ConfigError

EVENT_PACKET_MSG = (
    'std_msgs/Header header\nuint32 height\nuint32 width\nuint64 seq\nuint64 time_base\n'
    'string encoding\nbool is_bigendian\nuint8[] events\n')
EVENT_PACKET_TYPE = 'event_camera_msgs/msg/EventPacket'
_MISSING = object()


@dataclass(frozen=True)
class EventCameraConfig:
    """Binning and validation settings of an :class:`EventCameraAdapter`."""

    dt_ns: int = _f(1_000_000, 'network time step', 1, 10_000_000_000, read_only=True)
    out_width: int = _f(64, 'input grid width (downsampled columns)', 1, 4096, read_only=True)
    out_height: int = _f(48, 'input grid height (downsampled rows)', 1, 4096, read_only=True)
    polarity_channels: int = _f(2, '1 merges ON and OFF events, 2 keeps an OFF and an ON plane',
                                1, 2, read_only=True)
    roi_x: int = _f(0, 'region of interest: first sensor column', 0, 32767, read_only=True)
    roi_y: int = _f(0, 'region of interest: first sensor row', 0, 32767, read_only=True)
    roi_width: int = _f(0, 'region of interest width in sensor pixels (0: to the sensor edge)',
                        0, 32768, read_only=True)
    roi_height: int = _f(0, 'region of interest height in sensor pixels (0: to the sensor edge)',
                         0, 32768, read_only=True)
    refractory_ns: int = _f(0, 'per input index dead time after a spike (0: off)', 0,
                            10_000_000_000)
    hot_pixel_max_events: int = _f(0, 'events per sensor pixel kept per hot-pixel window '
                                   '(0: filter off)', 0, 1_000_000_000)
    hot_pixel_window_ns: int = _f(100_000_000, 'hot-pixel filter window', 1, 100_000_000_000)
    max_width: int = _f(2048, 'largest accepted sensor width', 1, 32768, read_only=True)
    max_height: int = _f(2048, 'largest accepted sensor height', 1, 32768, read_only=True)
    time_backwards_tolerance_ns: int = _f(
        1_000_000, 'largest step back in event time accepted (and clamped)', 0,
        1_000_000_000_000)
    max_steps_per_packet: int = _f(10_000_000, 'a packet spanning more network steps is '
                                   'rejected', 1, 2 ** 31, read_only=True)

    def __post_init__(self) -> None:
        """Validate every field (raise ConfigError naming the field)."""
        _validate(self, 'events.')
        if self.roi_width and self.roi_width < self.out_width:
            raise ConfigError(f'events.roi_width: {self.roi_width} is smaller than out_width '
                              f'{self.out_width}')
        if self.roi_height and self.roi_height < self.out_height:
            raise ConfigError(f'events.roi_height: {self.roi_height} is smaller than '
                              f'out_height {self.out_height}')
        if self.roi_x + max(self.roi_width, 1) > self.max_width or (
                self.roi_y + max(self.roi_height, 1) > self.max_height):
            raise ConfigError('events.roi_*: region of interest exceeds max_width x max_height')

    @property
    def population_size(self) -> int:
        """Return the number of input indices (channels x out_height x out_width)."""
        return self.polarity_channels * self.out_height * self.out_width


class EventCameraAdapter(Adapter):
    """Turn the ``EventPacket`` messages of one camera stream into :class:`SpikeBatch` es.

    Args:
        config: binning and validation settings (defaults: 64x48 grid, 2 polarity planes,
            1 ms steps).
        fused: decode and bin EVT3 in one pass when possible (same result, faster; the CD
            arrays of ``last_events`` then stay empty).

    Attributes:
        last_events: CD and trigger events of the last accepted packet (views valid until the
            next packet).
    """

    def __init__(self, config: EventCameraConfig | None = None, fused: bool = True) -> None:
        super().__init__()
        self.fused = bool(fused)
        self.config = config if config is not None else EventCameraConfig()
        self.n_channels = self.config.population_size
        self.decoder = StreamDecoder(self.config.time_backwards_tolerance_ns)
        self.geometry: tuple[int, int] | None = None
        self.binner: EventBinner | None = None
        self.last_events: DecodedEvents | None = None

    def reset(self) -> None:
        """Forget the stream (decoder state, geometry, refractory and hot-pixel history)."""
        self.decoder.reset()
        self.geometry = None
        if self.binner is not None:
            self.binner.reset()
        self.last_events = None

    def _field(self, msg: Any, name: str) -> Any:
        value = getattr(msg, name, _MISSING)
        if value is _MISSING:
            raise ShapeError(f'message has no field {name!r}; expected an EventPacket')
        return value

    def _int_field(self, msg: Any, name: str, error: type) -> int:
        value = self._field(msg, name)
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise error(f'{name} must be an integer, got {value!r}')
        return int(value)

    def _encode(self, msg: Any) -> SpikeBatch:
        cfg = self.config
        encoding = self._field(msg, 'encoding')
        encoding_code(encoding)
        width = self._int_field(msg, 'width', GeometryError)
        height = self._int_field(msg, 'height', GeometryError)
        if not (0 < width <= cfg.max_width and 0 < height <= cfg.max_height):
            raise GeometryError(f'sensor {width} x {height} outside 1..{cfg.max_width} x '
                                f'1..{cfg.max_height}')
        if self.geometry is not None and (width, height) != self.geometry:
            raise GeometryError(f'sensor geometry changed from {self.geometry[0]} x '
                                f'{self.geometry[1]} to {width} x {height}; reset first')
        time_base = self._int_field(msg, 'time_base', OutOfRangeError)
        if not 0 <= time_base <= MAX_TIME_BASE_NS:
            raise OutOfRangeError(f'time_base {time_base} outside [0, 2**62]')
        big = self._field(msg, 'is_bigendian')
        if not isinstance(big, (bool, np.bool_, int, np.integer)) or int(big) not in (0, 1):
            raise ShapeError(f'is_bigendian must be a bool, got {big!r}')
        payload = payload_array(self._field(msg, 'events'))
        binner = self.binner
        if binner is None or (binner.width, binner.height) != (width, height):
            binner = EventBinner(
                width, height, cfg.dt_ns, cfg.out_width, cfg.out_height,
                cfg.polarity_channels, (cfg.roi_x, cfg.roi_y, cfg.roi_width, cfg.roi_height),
                cfg.refractory_ns, cfg.hot_pixel_max_events, cfg.hot_pixel_window_ns,
                cfg.max_steps_per_packet)
        if self.fused and encoding == 'evt3' and binner.fused_ok:
            batch, events = binner.decode_bin_evt3(self.decoder, payload, bool(big))
        else:
            events = self.decoder.decode(encoding, payload, width, height, time_base,
                                         bool(big), commit=False)
            binner.check_span(events.t_ns)
            batch = None
        # accepted: from here on nothing raises, so commit every piece of stream state
        self.decoder.commit()
        self.geometry = (width, height)
        self.binner = binner
        self.last_events = events
        if batch is None:
            batch = binner.bin(events.x, events.y, events.p, events.t_ns)
        if batch.n_steps == 0:
            last = self.decoder.last_t_ns
            t0 = 0 if last is None else last // cfg.dt_ns * cfg.dt_ns
            return SpikeBatch.empty(t0, cfg.dt_ns, self.n_channels)
        return batch


def read_event_packets(path: str | Path, topic: str | None = None) -> Iterator[Any]:
    """Yield the ``EventPacket`` messages of a ROS 1 ``.bag``, a ROS 2 bag or an ``.mcap`` file.

    Args:
        path: a ``.bag`` file, a rosbag2 directory (sqlite3 or mcap with valid metadata) or a
            bare ``.mcap`` file (read with rosbags' MCAP reader, CDR messages).
        topic: only this topic; None yields every EventPacket connection.

    Returns:
        An iterator of rosbags message objects in log-time order.
    """
    from rosbags.highlevel import AnyReader
    from rosbags.typesys import get_types_from_msg, get_typestore, Stores

    path = Path(path)
    if path.suffix == '.bag':
        store = get_typestore(Stores.ROS1_NOETIC)
    else:
        store = get_typestore(Stores.ROS2_HUMBLE)
    store.register(get_types_from_msg(EVENT_PACKET_MSG, EVENT_PACKET_TYPE))
    if path.suffix == '.mcap':
        # a bare MCAP file (e.g. a rosbag2 folder whose metadata.yaml lists no files)
        from rosbags.rosbag2.storage_mcap import McapReader
        mcap = McapReader(path)
        mcap.open()
        try:
            conns = [c for c in mcap.connections if c.msgtype == EVENT_PACKET_TYPE
                     and (topic is None or c.topic == topic)]
            for conn, _, raw in mcap.messages(conns):
                yield store.deserialize_cdr(raw, conn.msgtype)
        finally:
            mcap.close()
        return
    with AnyReader([path], default_typestore=store) as reader:
        conns = [c for c in reader.connections if c.msgtype == EVENT_PACKET_TYPE
                 and (topic is None or c.topic == topic)]
        for conn, _, raw in reader.messages(connections=conns):
            yield reader.deserialize(raw, conn.msgtype)
