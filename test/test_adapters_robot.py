"""Robot-sensor adapters: IMU, JointState, LaserScan, Image emulator, generic arrays, bags."""

from __future__ import annotations

from conftest import shared_data
import numpy as np
import pytest

from snn_ros.adapters.array import ArrayAdapter, ArrayConfig
from snn_ros.adapters.bags import make_image, make_imu, make_joint_state, make_laser_scan, \
    make_multiarray, read_messages, topic_counts, write_bag
from snn_ros.adapters.encoders import NoiseConfig, PopulationConfig
from snn_ros.adapters.errors import GeometryError, NonFiniteError, OutOfRangeError, \
    ShapeError, TimeBackwardsError, TruncatedBufferError, UnknownEncodingError
from snn_ros.adapters.image import _dvs_kernel, dvs_reference, emulate_events, \
    ImageAdapter, ImageConfig, lin_log
from snn_ros.adapters.imu import ImuAdapter, ImuConfig
from snn_ros.adapters.joint_state import JointStateAdapter, JointStateConfig
from snn_ros.adapters.laser_scan import LaserScanAdapter, LaserScanConfig
from snn_ros.core.errors import ConfigError

from _adapters import check_batch

MS = 1_000_000
S = 1_000_000_000


def assert_state_kept(make_adapter, good_msgs, bad_msg, err):
    """Feed good, bad, good to one adapter and good, good to another: same output."""
    ref, ad = make_adapter(), make_adapter()
    expected = [ref.process(m) for m in good_msgs]
    got = [ad.process(good_msgs[0])]
    with pytest.raises(err):
        ad.process(bad_msg)
    got += [ad.process(m) for m in good_msgs[1:]]
    for a, b in zip(got, expected):
        assert np.array_equal(a.indices, b.indices)
        assert np.array_equal(a.step_offsets, b.step_offsets) and a.t0_ns == b.t0_ns
    assert ad.counters.rejected == 1 and ad.counters.by_reason[err.reason] == 1
    assert ad.counters.decoded == len(good_msgs)


# ---------------------------------------------------------------- IMU


def test_imu_delta_channels_and_steps():
    ad = ImuAdapter(ImuConfig(accel_threshold_mps2=0.5, gyro_threshold_radps=0.1), MS)
    assert ad.n_channels == 12
    b = ad.process(make_imu(10 * MS, [0, 0, 9.8], [0, 0, 0]))
    assert b.indices.size == 0 and b.t0_ns == 10 * MS and b.n_steps == 1
    b = ad.process(make_imu(20 * MS + 5, [0.6, 0, 9.8], [0, 0, -0.25]))
    assert b.t0_ns == 20 * MS and b.indices.tolist() == [0, 11]   # ax up, gz down
    b = ad.process(make_imu(20 * MS + 9, [0, 0, 9.8], [0, 0, 0]))  # same step -> next step
    assert b.t0_ns == 21 * MS and b.indices.tolist() == [1, 10]


def test_imu_population_and_absent_field():
    cfg = ImuConfig(encoding='population', use_linear_acceleration=False,
                    population=PopulationConfig(n_neurons=5, sigma_fraction=0.5),
                    gyro_min_radps=-2.0, gyro_max_radps=2.0)
    ad = ImuAdapter(cfg, MS)
    assert ad.n_channels == 15
    b = ad.process(make_imu(0, [0, 0, 0], [-2.0, 0.0, 2.0]))
    assert b.indices.tolist() == [0, 7, 14]
    msg = make_imu(MS, [0, 0, 0], [0, 0, 0])
    msg.angular_velocity_covariance[0] = -1.0
    assert ad.process(msg).indices.size == 0


@pytest.mark.parametrize('field,value,err', [
    ('gyro', float('nan'), NonFiniteError), ('accel', float('inf'), NonFiniteError),
    ('stamp', 0, TimeBackwardsError), ('stamp', -3 * S, OutOfRangeError),
])
def test_imu_bad_input(field, value, err):
    good = [make_imu(1 * S, [0, 0, 9.8], [0, 0, 0]),
            make_imu(1 * S + 30 * MS, [1, 0, 9], [1, 0, 0])]
    t = 1 * S + 10 * MS
    if field == 'gyro':
        bad = make_imu(t, [0, 0, 9.8], [value, 0, 0])
    elif field == 'accel':
        bad = make_imu(t, [0, value, 9.8], [0, 0, 0])
    else:
        bad = make_imu(1 * S + 10 * MS, [5, 5, 5], [5, 5, 5])
        bad.header.stamp.sec = value // S
    assert_state_kept(lambda: ImuAdapter(ImuConfig(), MS), good, bad, err)


def test_imu_husky_bag():
    path = shared_data('husky-imu-odom-gps-bag') / 'robot_localization_test1.bag'
    n_msgs = topic_counts(path)['/imu/data']
    ad = ImuAdapter(ImuConfig(use_linear_acceleration=False, gyro_threshold_radps=0.05),
                    MS)
    stamps, gyro, counts = [], [], []
    for _, _, msg in read_messages(path, '/imu/data'):
        b = ad.process(msg)
        counts.append(b.indices.size)
        stamps.append(msg.header.stamp.sec * S + msg.header.stamp.nanosec)
        gyro.append([msg.angular_velocity.x, msg.angular_velocity.y, msg.angular_velocity.z])
    assert n_msgs == 11865
    assert ad.counters.received == ad.counters.decoded == len(counts) == n_msgs
    assert ad.counters.rejected == 0 and ad.counters.spikes == sum(counts)
    stamps, gyro = np.array(stamps), np.array(gyro)
    rate_hz = (n_msgs - 1) / ((stamps[-1] - stamps[0]) / S)
    sec = (stamps - stamps[0]) // S
    spikes = np.bincount(sec, weights=counts)
    change = np.bincount(sec[1:], weights=np.abs(np.diff(gyro, axis=0)).sum(1))
    r = np.corrcoef(spikes, change)[0, 1]
    print(f'husky: {n_msgs} IMU msgs at {rate_hz:.1f} Hz, {ad.counters.spikes} spikes, '
          f'r(spikes/s, sum |d omega|/s) = {r:.3f}')
    assert 29.0 < rate_hz < 31.0
    assert r > 0.8


def test_imu_dvxplorer_aedat4():
    path = shared_data('tonic-samples') / 'sample.aedat4'
    aedat = pytest.importorskip('aedat', reason='aedat (PyPI) not installed: cannot decode '
                                'AEDAT4')
    imus = [pkt['imus'] for pkt in aedat.Decoder(str(path)) if 'imus' in pkt]
    imu = np.concatenate(imus)
    assert imu.size == 475
    g0, deg = 9.80665, np.pi / 180.0                    # DVXplorer: g and deg/s
    ad = ImuAdapter(ImuConfig(accel_threshold_mps2=0.05, gyro_threshold_radps=0.005), MS)
    counts = []
    for s in imu:
        msg = make_imu(int(s['t']) * 1000,
                       [s['accelerometer_x'] * g0, s['accelerometer_y'] * g0,
                        s['accelerometer_z'] * g0],
                       [s['gyroscope_x'] * deg, s['gyroscope_y'] * deg, s['gyroscope_z'] * deg])
        counts.append(ad.process(msg).indices.size)
    assert ad.counters.decoded == 475 and ad.counters.rejected == 0
    gyro = np.stack([imu['gyroscope_x'], imu['gyroscope_y'], imu['gyroscope_z']], 1) * deg
    change = np.abs(np.diff(gyro, axis=0)).sum(1)
    # messages whose gyro moved more than the median change spike more often
    gyro_spikes = np.array(counts[1:])
    big = change > np.median(change)
    print(f'dvxplorer: 475 IMU samples, {ad.counters.spikes} spikes; spikes/msg '
          f'{gyro_spikes[big].mean():.2f} (large d omega) vs {gyro_spikes[~big].mean():.2f}')
    assert gyro_spikes[big].mean() > gyro_spikes[~big].mean()


# ---------------------------------------------------------------- JointState


def _joint_adapter(**kw):
    cfg = dict(joint_names=('shoulder', 'elbow'), position_min=-1.0, position_max=1.0,
               velocity_min=-1.0, velocity_max=1.0,
               population=PopulationConfig(n_neurons=5, sigma_fraction=0.5))
    cfg.update(kw)
    return JointStateAdapter(JointStateConfig(**cfg), MS)


def test_joint_state_by_name():
    ad = _joint_adapter()
    assert ad.n_channels == 2 * 2 * 5
    a = ad.process(make_joint_state(0, ['shoulder', 'elbow'], [-1.0, 1.0], [0.0, 0.5]))
    b = ad.process(make_joint_state(MS, ['wrist', 'elbow', 'shoulder'], [0.3, 1.0, -1.0],
                                    [9.0, 0.5, 0.0]))
    assert a.indices.tolist() == b.indices.tolist() == [0, 7, 14, 18]
    c = ad.process(make_joint_state(2 * MS, ['elbow'], [1.0], []))    # shoulder, vel missing
    assert c.indices.tolist() == [14]
    strict = _joint_adapter(missing='error')
    with pytest.raises(ShapeError):
        strict.process(make_joint_state(0, ['elbow'], [1.0], [0.0]))


@pytest.mark.parametrize('bad,err', [
    (make_joint_state(5 * MS, ['shoulder', 'elbow'], [0.0, np.nan], [0, 0]), NonFiniteError),
    (make_joint_state(5 * MS, ['shoulder', 'elbow'], [0.0], [0, 0]), ShapeError),
    (make_joint_state(5 * MS, ['elbow', 'elbow'], [0.0, 0.0]), ShapeError),
    (make_joint_state(0, ['shoulder'], [0.5]), TimeBackwardsError),
    (make_joint_state(5 * MS, [f'j{i}' for i in range(2000)]), GeometryError),
])
def test_joint_state_bad_input(bad, err):
    good = [make_joint_state(10 * MS, ['shoulder', 'elbow'], [0.1, 0.2], [0, 0]),
            make_joint_state(20 * MS, ['elbow', 'shoulder'], [0.9, -0.9], [0.5, 0.5])]
    assert_state_kept(_joint_adapter, good, bad, err)


def test_joint_state_ignores_nan_of_unselected_joint():
    ad = _joint_adapter()
    b = ad.process(make_joint_state(0, ['shoulder', 'elbow', 'gripper'], [0, 0, np.nan],
                                    [0, 0, np.nan]))
    assert b.indices.size > 0


# ---------------------------------------------------------------- LaserScan


def test_laser_scan_nearer_more_spikes_and_rep117():
    cfg = LaserScanConfig(n_sectors=4, near_m=0.0, far_m=4.0, window_steps=8)
    ad = LaserScanAdapter(cfg, MS)
    # 8 rays over [-pi, pi): two per sector
    ranges = [1.0, 3.0, np.inf, np.inf, np.nan, 2.0, -np.inf, 0.01]
    b = ad.process(make_laser_scan(0, ranges, range_min=0.05, range_max=10.0))
    check_batch(b, 4)
    counts = np.bincount(b.indices, minlength=4)
    # sector 0: nearest 1 m -> p 0.75 -> 6; sector 1: +inf -> 0; sector 2: NaN ignored, 2 m
    # -> 4; sector 3: -inf -> too close -> 8 (0.01 m < range_min is invalid)
    assert counts.tolist() == [6, 0, 4, 8]
    assert ad.invalid_ranges == 2
    assert b.n_steps == 8 and b.t0_ns == 0
    assert b.steps()[0].tolist() == [0, 2, 3]


@pytest.mark.parametrize('field,value,err', [
    ('angle_increment', float('nan'), NonFiniteError), ('range_max', -1.0, OutOfRangeError),
    ('ranges', np.zeros(200_000, np.float32), GeometryError), ('ranges', 'abc', ShapeError),
])
def test_laser_scan_bad_input(field, value, err):
    good = [make_laser_scan(k * 100 * MS, np.linspace(0.5, 4, 360)) for k in range(1, 3)]
    bad = make_laser_scan(150 * MS, np.ones(360))
    setattr(bad, field, value)
    assert_state_kept(lambda: LaserScanAdapter(LaserScanConfig(), MS), good, bad, err)


# ---------------------------------------------------------------- Image emulator


def test_dvs_kernel_matches_reference():
    rng = np.random.default_rng(8)
    ref0 = rng.normal(-2, 0.5, (12, 17))
    logi = ref0 + rng.normal(0, 0.6, ref0.shape)
    ref_a, ref_b = ref0.copy(), ref0.copy()
    n = _dvs_kernel(logi, ref_a, 1000, 5000, 0.2, 0.3, 4, False, *([np.zeros(0, np.int64)] * 4))
    out = [np.empty(n, np.int64) for _ in range(4)]
    assert _dvs_kernel(logi, ref_a, 1000, 5000, 0.2, 0.3, 4, True, *out) == n
    expected = dvs_reference(logi, ref_b, 1000, 5000, 0.2, 0.3, 4)
    assert n > 50
    assert list(zip(*(o.tolist() for o in out))) == expected
    assert np.array_equal(ref_a, ref_b)


def test_emulate_events_step_edge():
    frames = np.full((3, 2, 3), 100, np.uint8)
    frames[1, 0, 1] = 200                               # log(200/100) = 0.693 -> 3 ON at 0.2
    frames[2, 0, 1] = 100                               # back down -> 3 OFF
    x, y, p, t = emulate_events(frames, np.array([0, 1000, 2000]), 0.2)
    assert x.tolist() == [1] * 6 and y.tolist() == [0] * 6
    assert p.tolist() == [1, 1, 1, 0, 0, 0]
    assert np.all(np.diff(t) >= 0) and t[0] > 0 and t[2] <= 1000 and t[3] > 1000


def test_image_adapter_encodings_agree():
    rng = np.random.default_rng(9)
    a = rng.integers(0, 256, (6, 8), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-120, 120, a.shape), 0, 255).astype(np.uint8)
    results = {}
    for enc in ('mono8', 'mono16', 'rgb8', 'bgr8', 'rgba8'):
        ad = ImageAdapter(ImageConfig(out_width=4, out_height=3), MS)
        frames = []
        for k, img in enumerate((a, b)):
            if enc == 'mono16':
                px = img.astype(np.uint16) * 257
            elif enc == 'rgba8':
                px = np.stack([img] * 3 + [np.zeros_like(img)], -1)
            elif enc in ('rgb8', 'bgr8'):
                px = np.stack([img] * 3, -1)
            else:
                px = img
            frames.append(make_image(k * 10 * MS, px, enc, step=None if k else 64,
                                     is_bigendian=int(enc == 'mono16')))
        batches = [ad.process(m) for m in frames]
        check_batch(batches[1], 24)
        results[enc] = (batches[1].indices.tolist(), ad.last_events.x.tolist())
        assert len(results[enc][1]) > 10
    # grey input: every encoding gives the same events (mono16 = mono8 * 257 exactly)
    assert len({str(v) for v in results.values()}) == 1


@pytest.mark.parametrize('change,err', [
    ({'encoding': 'yuv422'}, UnknownEncodingError), ({'step': 5}, ShapeError),
    ({'width': 10_000}, GeometryError), ({'data': np.zeros(10, np.uint8)}, TruncatedBufferError),
    ({'data': np.zeros(1000, np.uint8)}, ShapeError), ({'height': 0}, GeometryError),
    ({'width': 9}, GeometryError), ({'step': 1 << 30}, GeometryError),
])
def test_image_bad_input(change, err):
    rng = np.random.default_rng(10)
    good = [make_image(k * 10 * MS, rng.integers(0, 256, (6, 8), dtype=np.uint8))
            for k in range(3)]
    bad = make_image(15 * MS, np.zeros((6, 8), np.uint8))
    for k, v in change.items():
        setattr(bad, k, v)
    if 'width' in change and change['width'] == 9:
        bad.step = 9
        bad.data = np.zeros(54, np.uint8)      # consistent but a different geometry
    assert_state_kept(lambda: ImageAdapter(ImageConfig(max_width=64, max_height=64,
                                                       max_bytes=4096), MS),
                      good, bad, err)


def test_lin_log_continuous():
    cut = 20 / 255
    lo, hi = lin_log(np.array([cut - 1e-12, cut]), cut)
    assert abs(lo - hi) < 1e-9


# ---------------------------------------------------------------- generic array


def test_array_adapter_delta_and_population():
    ad = ArrayAdapter(ArrayConfig(expected_length=3), MS)
    assert ad.n_channels == 6
    ad.process(make_multiarray(np.zeros(3)), t_ns=0)
    b = ad.process(make_multiarray(np.array([0.1, 0.0, -0.2])))   # +10 ms (sample_period_s)
    assert b.t0_ns == 10 * MS and b.indices.tolist() == [0, 5]
    pop = ArrayAdapter(ArrayConfig(expected_length=2, encoding='population',
                                   population=PopulationConfig(n_neurons=3,
                                                               sigma_fraction=0.5)), MS)
    assert pop.process(make_multiarray(np.array([0.0, 1.0]))).indices.tolist() == [0, 5]


@pytest.mark.parametrize('bad,err', [
    (make_multiarray(np.zeros(4)), ShapeError), (make_multiarray(np.array([0, np.nan, 0])),
                                                 NonFiniteError),
    (make_multiarray(np.zeros((3, 2))), ShapeError), (None, ShapeError),
])
def test_array_bad_input(bad, err):
    good = [make_multiarray(np.array([0.0, 0.5, 1.0])), make_multiarray(np.array([1.0, 0, 0]))]
    assert_state_kept(lambda: ArrayAdapter(ArrayConfig(expected_length=3), MS), good, bad, err)


def test_configs_reject_bad_values():
    for make in (lambda: ImuConfig(encoding='fourier'), lambda: ImuConfig(accel_min_mps2=30),
                 lambda: JointStateConfig(joint_names=()),
                 lambda: LaserScanConfig(n_sectors=0), lambda: LaserScanConfig(far_m=0.0),
                 lambda: ImageConfig(threshold_on=0.0), lambda: ArrayConfig(expected_length=0),
                 lambda: PopulationConfig(n_neurons=1), lambda: ImuConfig(time_tolerance_s=-1)):
        with pytest.raises(ConfigError):
            make()
    with pytest.raises(ConfigError, match='dt_ns'):
        ImuAdapter(ImuConfig(), 0)


# ---------------------------------------------------------------- bags written at test time


def test_ros2_bag_round_trip(tmp_path):
    msgs = []
    for k in range(20):
        t = S + k * 20 * MS
        msgs.append(('/imu', t, make_imu(t, [0, 0, 9.8 + 0.3 * k], [0.1 * k, 0, 0])))
        msgs.append(('/joints', t, make_joint_state(t, ['a', 'b'], [0.1 * k - 1, 0], [0, 0])))
        msgs.append(('/scan', t, make_laser_scan(t, np.full(36, 1.0 + 0.1 * k))))
        msgs.append(('/camera', t, make_image(t, np.full((6, 8, 3), 10 * k, np.uint8), 'rgb8',
                                              step=26)))
        msgs.append(('/edge', t, make_multiarray(np.full(8, 0.1 * k))))
    write_bag(tmp_path / 'bag', msgs)
    assert topic_counts(tmp_path / 'bag') == {t: 20 for t in ('/imu', '/joints', '/scan',
                                                              '/camera', '/edge')}
    adapters = {'/imu': ImuAdapter(ImuConfig(), MS),
                '/joints': JointStateAdapter(JointStateConfig(joint_names=('a', 'b')), MS),
                '/scan': LaserScanAdapter(LaserScanConfig(), MS),
                '/camera': ImageAdapter(ImageConfig(), MS),
                '/edge': ArrayAdapter(ArrayConfig(), MS)}
    direct = {k: type(v)(v.config, MS) for k, v in adapters.items()}
    for (topic, t, msg), (_, _, original) in zip(read_messages(tmp_path / 'bag',
                                                               list(adapters)), msgs):
        a, b = adapters[topic].process(msg), direct[topic].process(original)
        assert np.array_equal(a.indices, b.indices) and a.t0_ns == b.t0_ns
    assert all(a.counters.decoded == 20 and a.counters.spikes > 0 for a in adapters.values())


def test_emulate_events_moving_square_saccade():
    """Check a bright square moving right: ON at its leading edge, OFF at its trailing edge."""
    frames = np.full((4, 10, 16), 30, np.uint8)
    for k in range(4):
        frames[k, 3:7, 2 + 2 * k:6 + 2 * k] = 220
    x, y, p, t = emulate_events(frames, np.arange(4) * 10 * MS, 0.3)
    assert np.all((y >= 3) & (y < 7))
    on, off = x[p == 1], x[p == 0]
    assert on.size == off.size > 0
    assert set(on.tolist()) == {6, 7, 8, 9, 10, 11} and set(off.tolist()) == {2, 3, 4, 5, 6, 7}


def test_joint_state_hold_steps_repeat_a_sample_and_keep_pace_with_the_stamps():
    ad = JointStateAdapter(JointStateConfig(
        joint_names=('shoulder',), use_velocity=False, position_min=-1.0, position_max=1.0,
        population=PopulationConfig(n_neurons=5), hold_steps=4), MS)
    b = ad.process(make_joint_state(10 * MS, ['shoulder'], [-1.0]))
    check_batch(b, ad.n_channels)
    assert b.n_steps == 4 and b.t0_ns == 10 * MS
    first = b.steps()[0].tolist()
    assert first and [s.tolist() for s in b.steps()] == [first] * 4
    # A sample 2 steps later only holds the steps the previous one did not (12..13 -> 14..15).
    c = ad.process(make_joint_state(12 * MS, ['shoulder'], [1.0]))
    last = c.steps()[0].tolist()
    assert c.t0_ns == 14 * MS and c.n_steps == 2 and [s.tolist() for s in c.steps()] == [last] * 2
    assert 4 in last and 0 not in last
    # Samples further apart than the hold leave the gap unstepped.
    d = ad.process(make_joint_state(30 * MS, ['shoulder'], [1.0]))
    assert d.t0_ns == 30 * MS and d.n_steps == 4


def test_noise_channels_follow_the_sensor_channels_reproducibly():
    def scan_adapter(seed):
        return LaserScanAdapter(LaserScanConfig(
            n_sectors=4, near_m=0.0, far_m=4.0, window_steps=50,
            noise=NoiseConfig(channels=3, rate_hz=200.0, seed=seed)), MS)
    ad = scan_adapter(7)
    assert ad.n_channels == 7
    b = ad.process(make_laser_scan(0, [np.inf] * 8, range_min=0.05))  # nothing near: no spikes
    check_batch(b, 7)
    assert set(b.indices.tolist()) == {4, 5, 6} and b.n_steps == 50
    assert 10 <= b.indices.size <= 50  # 3 channels x 50 steps x 0.2
    again = scan_adapter(7).process(make_laser_scan(0, [np.inf] * 8, range_min=0.05))
    assert again.indices.tolist() == b.indices.tolist()
    assert again.step_offsets.tolist() == b.step_offsets.tolist()
    other = scan_adapter(8).process(make_laser_scan(0, [np.inf] * 8, range_min=0.05))
    assert other.step_offsets.tolist() != b.step_offsets.tolist()
    imu = ImuAdapter(ImuConfig(noise=NoiseConfig(channels=2)), MS)
    assert imu.n_channels == ImuAdapter(ImuConfig(), MS).n_channels + 2
