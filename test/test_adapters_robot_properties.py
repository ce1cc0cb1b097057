"""Property tests: random field values to the IMU, JointState, LaserScan and Image adapters.

Every message gives a valid SpikeBatch or an AdapterError, never another exception; about 200
examples each by default, 10,000 in the ``slow`` variants. Messages are valid about half the
time and otherwise carry up to three random faults, so both paths are exercised.
"""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given, HealthCheck, settings, strategies as st
from hypothesis.extra import numpy as hnp
import numpy as np
import pytest

from snn_ros.adapters.encoders import PopulationConfig
from snn_ros.adapters.image import emulate_events, ENCODINGS, ImageAdapter, ImageConfig
from snn_ros.adapters.imu import ImuAdapter, ImuConfig
from snn_ros.adapters.joint_state import JointStateAdapter, JointStateConfig
from snn_ros.adapters.laser_scan import LaserScanAdapter, LaserScanConfig

from _adapters import feed

MS = 1_000_000
S = 1_000_000_000
_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large]
FAST = settings(max_examples=200, deadline=None, suppress_health_check=_HEALTH)
SLOW = settings(max_examples=10_000, deadline=None, suppress_health_check=_HEALTH)

floats = st.floats(allow_nan=True, allow_infinity=True)
junk = st.one_of(st.none(), st.text(max_size=3), st.integers(-2 ** 70, 2 ** 70), floats,
                 st.lists(st.integers(-3, 3), max_size=3))


def pair(body):
    """Return the default (200) and slow (10,000 examples) property tests of ``body``."""
    return FAST(given(st.data())(body)), pytest.mark.slow(SLOW(given(st.data())(body)))


def faults(draw, names):
    return draw(st.sets(st.sampled_from(names), max_size=3)) if draw(st.booleans()) else set()


@st.composite
def headers(draw, bad):
    if bad:
        sec = draw(st.one_of(st.integers(-2 ** 40, 2 ** 40), junk))
        nanosec = draw(st.one_of(st.integers(-10, 2 ** 33), junk))
    else:
        sec = draw(st.integers(0, 100))
        nanosec = draw(st.integers(0, S - 1))
    return SimpleNamespace(stamp=SimpleNamespace(sec=sec, nanosec=nanosec), frame_id='f')


def vec(draw, bad):
    el = floats if bad else st.floats(-50, 50)
    if bad and draw(st.integers(0, 5)) == 0:
        return draw(junk)
    return SimpleNamespace(x=draw(el), y=draw(el), z=draw(el))


@st.composite
def imu_msgs(draw):
    f = faults(draw, ['header', 'acc', 'gyro', 'cov', 'junk_cov'])
    cov = draw(st.sampled_from([np.zeros(9), np.full(9, -1.0), np.zeros(0)])) \
        if 'cov' in f else np.zeros(9)
    return SimpleNamespace(
        header=draw(headers('header' in f)), orientation=None,
        angular_velocity=vec(draw, 'gyro' in f), linear_acceleration=vec(draw, 'acc' in f),
        angular_velocity_covariance=draw(junk) if 'junk_cov' in f else cov,
        linear_acceleration_covariance=cov)


def _imu(data):
    enc = data.draw(st.sampled_from(['delta', 'population']))
    cfg = ImuConfig(encoding=enc, use_linear_acceleration=data.draw(st.booleans()),
                    accel_threshold_mps2=data.draw(st.sampled_from([1e-9, 0.2, 100.0])),
                    population=PopulationConfig(n_neurons=data.draw(st.integers(2, 12))))
    feed(ImuAdapter(cfg, data.draw(st.sampled_from([MS, 333_333, 10 * MS]))),
         data.draw(st.lists(imu_msgs(), min_size=1, max_size=5)))


test_imu_random, test_imu_random_slow = pair(_imu)

JOINTS = ['a', 'b', 'c', 'd']


@st.composite
def joint_msgs(draw):
    f = faults(draw, ['header', 'names', 'lengths', 'values', 'junk'])
    names = draw(st.lists(st.sampled_from(JOINTS + ['', 'a']), max_size=6)) if 'names' in f \
        else draw(st.lists(st.sampled_from(JOINTS), unique=True, max_size=4))
    el = floats if 'values' in f else st.floats(-5, 5)

    def values():
        if 'lengths' in f:
            return draw(st.lists(el, max_size=6))
        return draw(st.sampled_from([[], None])) or draw(
            st.lists(el, min_size=len(names), max_size=len(names)))

    msg = SimpleNamespace(header=draw(headers('header' in f)), name=names,
                          position=values(), velocity=values(), effort=[])
    if 'junk' in f:
        setattr(msg, draw(st.sampled_from(['name', 'position', 'velocity'])), draw(junk))
    return msg


def _joints(data):
    cfg = JointStateConfig(joint_names=('a', 'c'), use_position=data.draw(st.booleans()),
                           missing=data.draw(st.sampled_from(['skip', 'error'])),
                           max_joints_per_message=5)
    feed(JointStateAdapter(cfg, MS), data.draw(st.lists(joint_msgs(), min_size=1, max_size=5)))


test_joint_state_random, test_joint_state_random_slow = pair(_joints)


@st.composite
def scan_msgs(draw):
    f = faults(draw, ['header', 'angles', 'limits', 'length', 'junk'])
    n = draw(st.integers(0, 300 if 'length' in f else 100))
    if draw(st.booleans()):
        ranges = draw(hnp.arrays(np.float32, n, elements=st.floats(
            allow_nan=True, allow_infinity=True, width=32)))
    else:
        ranges = draw(st.lists(st.one_of(st.floats(0, 20), floats), min_size=n, max_size=n))
    ang = floats if 'angles' in f else st.floats(-4, 4)
    inc = floats if 'angles' in f else st.floats(-0.1, 0.1)
    lo, hi = (floats, floats) if 'limits' in f else (st.floats(0, 1), st.floats(2, 30))
    msg = SimpleNamespace(header=draw(headers('header' in f)), angle_min=draw(ang),
                          angle_max=0.0, angle_increment=draw(inc), time_increment=0.0,
                          scan_time=0.1, range_min=draw(lo), range_max=draw(hi),
                          ranges=ranges, intensities=[])
    if 'junk' in f:
        setattr(msg, draw(st.sampled_from(['ranges', 'angle_min', 'range_max'])), draw(junk))
    return msg


def _scan(data):
    cfg = LaserScanConfig(n_sectors=data.draw(st.integers(1, 40)), max_ranges=200,
                          window_steps=data.draw(st.integers(1, 20)))
    ad = LaserScanAdapter(cfg, MS)
    feed(ad, data.draw(st.lists(scan_msgs(), min_size=1, max_size=4)))
    assert ad.invalid_ranges >= 0


test_laser_scan_random, test_laser_scan_random_slow = pair(_scan)


@st.composite
def image_msgs(draw, w0, h0):
    f = faults(draw, ['header', 'size', 'step', 'encoding', 'data', 'junk'])
    enc = draw(st.sampled_from(['yuv422', '', '8UC1', 'MONO8'])) if 'encoding' in f \
        else draw(st.sampled_from(sorted(ENCODINGS)))
    bpp = ENCODINGS.get(enc.lower(), (1, None))[0]
    w, h = (draw(st.integers(-2, 40)), draw(st.integers(-2, 40))) if 'size' in f else (w0, h0)
    step = draw(st.integers(-3, 200)) if 'step' in f else max(w, 0) * bpp + draw(
        st.integers(0, 3))
    n = max(step, 0) * max(h, 0)
    if 'data' in f:
        n = max(0, n + draw(st.integers(-5, 5)))
    raw = draw(st.sampled_from(['array', 'bytes', 'list']))
    data = draw(hnp.arrays(np.uint8, n)) if raw == 'array' else draw(st.binary(
        min_size=n, max_size=n))
    if raw == 'list':
        data = list(data)
    msg = SimpleNamespace(header=draw(headers('header' in f)), height=h, width=w,
                          encoding=enc, is_bigendian=draw(st.integers(0, 1)), step=step,
                          data=data)
    if 'junk' in f:
        setattr(msg, draw(st.sampled_from(['width', 'step', 'data', 'encoding'])), draw(junk))
    return msg


def _image(data):
    w0, h0 = data.draw(st.integers(1, 16)), data.draw(st.integers(1, 12))
    cfg = ImageConfig(threshold_on=data.draw(st.sampled_from([0.01, 0.2, 1.0])),
                      out_width=data.draw(st.integers(1, 20)),
                      out_height=data.draw(st.integers(1, 20)),
                      max_width=32, max_height=32, max_bytes=32 * 32 * 4,
                      max_events_per_pixel=data.draw(st.integers(1, 20)))
    ad = ImageAdapter(cfg, data.draw(st.sampled_from([MS, 7 * MS])))
    feed(ad, data.draw(st.lists(image_msgs(w0, h0), min_size=1, max_size=4)))
    e = ad.last_events
    assert np.all((e.x >= 0) & (e.x < 32)) and np.all((e.y >= 0) & (e.y < 32))
    assert np.all(np.diff(e.t_ns) >= 0)


test_image_random, test_image_random_slow = pair(_image)


def _emulate(data):
    t, h, w = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 6)), data.draw(
        st.integers(1, 6))
    frames = data.draw(hnp.arrays(data.draw(st.sampled_from([np.uint8, np.uint16])),
                                  (t, h, w)))
    stamps = np.cumsum(data.draw(hnp.arrays(np.int64, t, elements=st.integers(0, 10 ** 9))))
    thr = data.draw(st.floats(0.01, 2.0))
    x, y, p, ts = emulate_events(frames, stamps, thr)
    assert np.all((x >= 0) & (x < w)) and np.all((y >= 0) & (y < h))
    assert set(np.unique(p).tolist()) <= {0, 1}
    assert np.all(np.diff(ts) >= 0)
    assert ts.size == 0 or (ts[0] >= stamps[0] and ts[-1] <= stamps[-1])


test_emulate_random, test_emulate_random_slow = pair(_emulate)
