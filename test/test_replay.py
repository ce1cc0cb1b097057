"""Fast offline replay: bag formats, labels, outputs, truncated and malformed bags (no ROS)."""

from __future__ import annotations

from pathlib import Path
import shutil
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from snn_ros.bagio import BagNotFoundError, BagReader, BagWriter, CorruptBagError, \
    ReplayError, UndecodableTypeError, UnknownTopicError
from snn_ros.replay import LabelSchedule, load_params, replay

from _replay_bags import EVENTS_TOPIC, LABEL_TOPIC, PARAMS_YAML, storage_file, T0_NS, \
    write_test_bag


@pytest.fixture(scope='module')
def params(tmp_path_factory):
    p = tmp_path_factory.mktemp('params') / 'params.yaml'
    p.write_text(PARAMS_YAML)
    return load_params(p)


@pytest.fixture(scope='module')
def mcap_bag(tmp_path_factory):
    return write_test_bag(tmp_path_factory.mktemp('bags') / 'mixed_mcap', 'mcap')


@pytest.fixture(scope='module')
def reference(mcap_bag, params):
    return replay(mcap_bag, params)


def _key(result):
    return [(d.stamp_ns, d.class_index, d.spike_counts) for d in result.decisions]


def test_replay_runs_every_message_through_adapters_core_and_readout(reference):
    s = reference.summary
    assert s['sensor_messages'] == 70
    assert s['adapters']['event_camera']['decoded'] == 40
    assert s['adapters']['imu']['decoded'] == 20
    assert s['adapters']['biosignal']['decoded'] == 10
    assert s['core']['input_messages'] == 70 and s['core']['rejected_messages'] == 0
    assert s['core']['labels'] == 2
    assert s['decisions'] == len(reference.decisions) == s['network_steps'] // 50
    # the readout spikes: decisions are not all empty, and the labels were taught
    assert sum(1 for d in reference.decisions if d.class_index >= 0) > len(
        reference.decisions) // 2
    assert s['core']['teach_events'] > 0
    assert {d.label for d in reference.decisions} == {1, 2}


def test_replay_is_deterministic_and_storage_independent(tmp_path, params, reference):
    db3 = write_test_bag(tmp_path / 'mixed_db3', 'sqlite3')
    again = replay(db3, params)
    assert _key(again) == _key(reference)


def test_bare_mcap_file_and_folder_with_broken_metadata(tmp_path, mcap_bag, params, reference):
    bare = storage_file(mcap_bag)
    assert _key(replay(bare, params)) == _key(reference)
    broken = tmp_path / 'broken_meta'
    broken.mkdir()
    shutil.copy(bare, broken / bare.name)
    (broken / 'metadata.yaml').write_text(
        'rosbag2_bagfile_information:\n  version: 5\n  storage_identifier: ""\n'
        '  relative_file_paths: []\n  files: []\n')
    res = replay(broken, params)
    assert _key(res) == _key(reference)
    assert res.summary['bags'][0]['truncated'] is False


def _ros1_events_bag(path, ros2_bag):
    """Copy the EventPacket messages of a ROS 2 bag into a ROS 1 bag (embedded definition)."""
    from rosbags.rosbag1 import Writer
    from rosbags.typesys import get_types_from_msg, get_typestore, Stores

    from snn_ros.bagio import EVENT_PACKET_MSG, EVENT_PACKET_TYPE

    ts = get_typestore(Stores.ROS1_NOETIC)
    ts.register(get_types_from_msg(EVENT_PACKET_MSG, EVENT_PACKET_TYPE))
    w = Writer(path)
    w.set_compression(Writer.CompressionFormat.BZ2)
    w.chunk_threshold = 16 * 1024
    with BagReader(ros2_bag) as r, w:
        conn = w.add_connection(EVENTS_TOPIC, EVENT_PACKET_TYPE, typestore=ts)
        for m in r.messages([EVENTS_TOPIC]):
            h = m.msg.header
            msg = ts.types[EVENT_PACKET_TYPE](
                header=ts.types['std_msgs/msg/Header'](seq=int(m.msg.seq), stamp=ts.types[
                    'builtin_interfaces/msg/Time'](sec=h.stamp.sec, nanosec=h.stamp.nanosec),
                    frame_id=h.frame_id),
                height=m.msg.height, width=m.msg.width, seq=m.msg.seq,
                time_base=m.msg.time_base, encoding=m.msg.encoding,
                is_bigendian=m.msg.is_bigendian, events=m.msg.events)
            w.write(conn, m.t_ns, ts.serialize_ros1(msg, EVENT_PACKET_TYPE))
    return path


def test_ros1_bag_replays_like_the_ros2_bag(tmp_path, mcap_bag, params):
    ros1 = _ros1_events_bag(tmp_path / 'events.bag', mcap_bag)
    a = replay(mcap_bag, params, topics={EVENTS_TOPIC: 'event_camera'}, label_topic=LABEL_TOPIC)
    b = replay(ros1, params)
    assert b.summary['bags'][0]['storage'] == 'ros1'
    assert b.summary['adapters']['event_camera']['decoded'] == 40
    # same EventPackets; the ROS 1 bag has no labels: compare up to the first label use
    assert [k[:2] for k in _key(a)][:1] == [k[:2] for k in _key(b)][:1]
    assert [d.spike_counts for d in a.decisions][0] == [d.spike_counts for d in b.decisions][0]


def _cut(src, dst, fraction):
    data = src.read_bytes()
    dst.write_bytes(data[:int(len(data) * fraction)])
    return dst


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_truncated_bag_replays_up_to_the_cut(tmp_path, params, storage):
    # big enough for several 1 MB MCAP chunks: a cut loses only the chunk it falls in
    full_bag = write_test_bag(tmp_path / f'full_{storage}', storage, n_packets=120,
                              packet_ns=10_000_000, n_events=12000)
    full = replay(full_bag, params)
    src = storage_file(full_bag)
    cut = _cut(src, tmp_path / f'cut{src.suffix}', 0.6)
    res = replay(cut, params)
    info = res.summary['bags'][0]
    assert info['truncated'] is True and info['warnings']
    assert 0 < res.summary['sensor_messages'] < full.summary['sensor_messages']
    # what was written before the cut replays exactly as in the full bag
    assert _key(res) == _key(full)[:len(res.decisions)]


def test_truncated_ros1_bag_replays_up_to_the_cut(tmp_path, params):
    full_bag = write_test_bag(tmp_path / 'full', 'mcap', n_packets=120, packet_ns=10_000_000)
    ros1 = _ros1_events_bag(tmp_path / 'full.bag', full_bag)
    full = replay(ros1, params)
    cut = _cut(ros1, tmp_path / 'cut.bag', 0.55)
    res = replay(cut, params)
    assert res.summary['bags'][0]['truncated'] is True
    assert 0 < res.summary['sensor_messages'] < full.summary['sensor_messages']
    assert _key(res) == _key(full)[:len(res.decisions)]


def test_missing_and_empty_and_garbage_bags_give_clear_errors(tmp_path, params):
    with pytest.raises(BagNotFoundError, match='bag not found'):
        replay(tmp_path / 'nope', params)
    (tmp_path / 'empty_dir').mkdir()
    with pytest.raises(BagNotFoundError, match='no bag files'):
        replay(tmp_path / 'empty_dir', params)
    (tmp_path / 'garbage.mcap').write_bytes(b'this is not a bag at all' * 10)
    with pytest.raises(CorruptBagError, match='not a bag'):
        replay(tmp_path / 'garbage.mcap', params)
    (tmp_path / 'empty.db3').write_bytes(b'')
    with pytest.raises(CorruptBagError, match='empty'):
        replay(tmp_path / 'empty.db3', params)
    head = b'\x89MCAP0\r\n' + bytes(50)
    (tmp_path / 'headonly.mcap').write_bytes(head)
    with pytest.raises(CorruptBagError):
        replay(tmp_path / 'headonly.mcap', params)


def test_unknown_topic_lists_what_the_bag_has(mcap_bag, params):
    with pytest.raises(UnknownTopicError, match='/imu/imu'):
        replay(mcap_bag, params, topics={'/no/such/topic': 'imu'})
    with pytest.raises(UnknownTopicError):
        replay(mcap_bag, params, label_topic='/nope')


def test_topic_to_wrong_adapter_and_bad_label_type_are_refused(mcap_bag, params):
    with pytest.raises(UndecodableTypeError, match='takes'):
        replay(mcap_bag, params, topics={'/imu/imu': 'event_camera'})
    with pytest.raises(UndecodableTypeError, match='label topic'):
        replay(mcap_bag, params, label_topic=EVENTS_TOPIC)


def _custom_type_bag(path, keep_definitions):
    from rosbags.typesys import get_types_from_msg

    w = BagWriter(path, 'sqlite3')
    w.ts.register(get_types_from_msg('int32 a\nfloat64 b\n', 'foo_msgs/msg/Bar'))
    for k in range(3):
        w.write('/bar', 'foo_msgs/msg/Bar', T0_NS + k, w.make('foo_msgs/msg/Bar', a=k, b=0.5))
    w.write(EVENTS_TOPIC + '_x', 'std_msgs/msg/Int32', T0_NS + 9,
            w.make('std_msgs/msg/Int32', data=1))
    w.close()
    db = storage_file(path)
    if not keep_definitions:
        con = sqlite3.connect(db)
        con.execute("DELETE FROM message_definitions WHERE topic_type = 'foo_msgs/msg/Bar'")
        con.commit()
        con.close()
    return path


def test_undecodable_type_is_a_clear_error(tmp_path):
    ok = _custom_type_bag(tmp_path / 'with_defs', True)
    with BagReader(ok) as r:
        assert [m.msg.a for m in r.messages(['/bar'])] == [0, 1, 2]
    bad = _custom_type_bag(tmp_path / 'no_defs', False)
    with BagReader(bad) as r:
        with pytest.raises(UndecodableTypeError, match='foo_msgs/msg/Bar'):
            list(r.messages(['/bar']))


def test_undecodable_message_bytes_are_a_corrupt_bag(tmp_path):
    w = BagWriter(tmp_path / 'badbytes', 'mcap')
    w.write_raw('/n', 'std_msgs/msg/Int32', T0_NS, b'\x00\x01')
    w.close()
    with BagReader(tmp_path / 'badbytes') as r, pytest.raises(CorruptBagError,
                                                              match='does not decode'):
        list(r.messages())


def test_bag_without_sensor_topics_is_refused(tmp_path, params):
    w = BagWriter(tmp_path / 'labels_only', 'mcap')
    w.write(LABEL_TOPIC, 'std_msgs/msg/Int32', T0_NS, w.make('std_msgs/msg/Int32', data=1))
    w.close()
    with pytest.raises(UnknownTopicError, match='no topic with a known sensor type'):
        replay(tmp_path / 'labels_only', params)


def test_labels_from_csv_intervals_and_per_recording_file(tmp_path, params):
    bag = write_test_bag(tmp_path / 'nolabels', 'mcap', labels=False)
    csv = tmp_path / 'labels.csv'
    csv.write_text('start_s,end_s,label\n0.0,0.5,1\n0.5,2.0,2\n')
    res = replay(bag, params, labels_csv=csv)
    labs = [d.label for d in res.decisions]
    assert set(labs) == {1, 2} and labs[0] == 1 and labs[-1] == 2
    assert res.summary['core']['labels'] >= 2
    names = tmp_path / 'per_recording.txt'
    names.write_text('# recording label\nother 0\nnolabels 2\n')
    res2 = replay(bag, params, labels_file=names)
    assert {d.label for d in res2.decisions} == {2}
    assert res2.summary['accuracy'] is not None
    names.write_text('other 0\n')
    with pytest.raises(ReplayError, match='names no label'):
        replay(bag, params, labels_file=names)


def test_label_schedule_merges_back_to_back_intervals(tmp_path):
    csv = tmp_path / 'l.csv'
    csv.write_text('0,1,3\n1,2,4\n')
    assert LabelSchedule.from_csv(csv, 10).events == [
        (10, 3), (10 + 10 ** 9, 4), (10 + 2 * 10 ** 9, -1)]


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_outputs_are_written_to_a_bag_that_reads_back(tmp_path, mcap_bag, params, storage,
                                                      reference):
    out = tmp_path / f'out_{storage}'
    res = replay(mcap_bag, params, output_bag=out, output_storage=storage, record_spikes=True)
    assert (out / 'metadata.yaml').is_file()
    with BagReader(out) as r:
        topics = r.info.topics
        assert topics['/readout/decision'] == 'snn_ros/msg/Decision'
        assert topics['/cmd_vel'] == 'geometry_msgs/msg/Twist'
        assert topics['/snn_core/readout_spikes'] == 'snn_ros/msg/SpikeEvents'
        assert topics['/event_camera/spikes'] == 'snn_ros/msg/SpikeEvents'
        decs = [m.msg for m in r.messages(['/readout/decision'])]
        cmds = [m.msg for m in r.messages(['/cmd_vel'])]
    assert [int(d.class_index) for d in decs] == [d.class_index for d in res.decisions]
    assert [list(d.spike_counts) for d in decs] == [d.spike_counts for d in
                                                    reference.decisions]
    assert [(c.linear.x, c.angular.z) for c in cmds] == [d.command for d in res.decisions]


def test_checkpoint_round_trip_and_learning_off(tmp_path, mcap_bag, params):
    ck = tmp_path / 'net.npz'
    first = replay(mcap_bag, params, save_checkpoint=ck)
    assert ck.is_file()
    frozen = replay(mcap_bag, params, checkpoint=ck, learning=False)
    again = replay(mcap_bag, params, checkpoint=ck, learning=False)
    assert frozen.summary['learning'] is False
    assert _key(frozen) == _key(again)
    assert frozen.network.t == first.network.t + frozen.summary['core']['steps']
    with pytest.raises(ReplayError, match='cannot load checkpoint'):
        replay(mcap_bag, params, checkpoint=tmp_path / 'missing.npz')


def test_params_file_errors(tmp_path):
    with pytest.raises(ReplayError, match='not found'):
        load_params(tmp_path / 'none.yaml')
    bad = tmp_path / 'bad.yaml'
    bad.write_text('snn_core: {ros__parameters: {n_inputs: -3}}\n')
    with pytest.raises(ReplayError, match='snn_core'):
        replay(tmp_path, load_params(bad))


def test_event_payloads_decode_to_the_written_events():
    from _replay_bags import event_payloads

    from snn_ros.adapters.event_codecs import StreamDecoder

    dec = StreamDecoder()
    n = 0
    for _, payload in event_payloads(3, 25_000_000):
        ev = dec.decode('evt3', np.frombuffer(payload, np.uint8), 64, 48, 0, False)
        n += ev.x.size
    assert n == 900


BLOCKED_REPLAY = r'''
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        root = name.split('.')[0]
        if root in ('rclpy', 'rosidl_runtime_py') or name.startswith(('snn_ros.msg',
                'snn_ros.srv', 'snn_ros.nodes', 'snn_ros.play')) or root.endswith('_msgs'):
            raise ImportError(f'blocked import of {name}')
sys.meta_path.insert(0, Block())
sys.path.insert(0, 'test')
from pathlib import Path
import snn_ros.bagio, snn_ros.replay, snn_ros.report, snn_ros.demo
from _replay_bags import PARAMS_YAML, write_test_bag
d = Path(sys.argv[1])
(d / 'p.yaml').write_text(PARAMS_YAML)
bag = write_test_bag(d / 'bag', 'mcap')
r = snn_ros.replay.replay(bag, snn_ros.replay.load_params(d / 'p.yaml'), output_bag=d / 'out')
print('ok', len(r.decisions))
'''


def test_offline_replay_runs_with_ros_blocked(tmp_path):
    """The replay ring is ROS-free: bag -> adapters -> core -> readout -> output bag."""
    out = subprocess.run([sys.executable, '-c', BLOCKED_REPLAY, str(tmp_path)],
                         cwd=Path(__file__).resolve().parent.parent, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().startswith('ok') and int(out.stdout.split()[-1]) > 0
