"""Graph benchmark: EventPacket in -> Decision out latency and sustained input rate.

Real recorded events (``../shared/data/ros-event-bags``, evt3, 640x480) are decoded once, then
looped and re-timed to a camera producing 1, 10 and 30 Mev/s, re-encoded as EVT3 packets of
``--packet-ms`` of sensor time each, and published in real time (one packet per packet
period, sensor-data QoS) to the graph running with learning on, either composed
(``snn_ros_composed``: one process, one executor) or as separate processes (adapter, core,
readout). The readout makes one decision per packet; latency is the wall time from publishing
a packet to receiving the Decision stamped with that packet's last step. ``--shm-mb`` puts the
bench and the graph on Fast-DDS shared memory with a bigger segment (needed for the 1.2 MB
packets of 30 Mev/s, which the default transport loses). Prints JSON lines::

    {"bench": "graph", "case": "composed_10mevps", "impl": "snn_ros",
     "metric": "latency_p99_ms", "value": 3.2, "unit": "ms"}

Metrics per case: ``latency_p50_ms``, ``latency_p99_ms``, ``dropped_packets`` (published but
never decided), ``sustained_mev_per_s`` (events of decided packets per wall second),
``latency_growth_ms`` (median latency of the last fifth of the packets minus that of the first
fifth: a backlog building up shows as growth), ``graph_cpu_ms_per_packet`` (CPU time of the
graph processes while the packets were published, per packet: steadier than wall time on a
shared machine). The first tenth of the packets (start-up) is
left out of the latency figures. Skips (prints nothing, exit 0) when the recording is absent.
Not a test: never asserts on time.
"""

from __future__ import annotations

import argparse
import array
import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import yaml

from snn_ros.study import shared_data_dir

REPO = Path(__file__).resolve().parent.parent
DATA = shared_data_dir()
BAG = DATA / 'ros-event-bags' / 'event_camera_py' / 'test_events_1'

os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
os.environ.setdefault('ROS_DOMAIN_ID', str(100 + os.getpid() % 100))
os.environ.setdefault('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp')


def load_events():
    """Decode every CD event of the recording: x, y, p arrays and the sensor geometry."""
    from snn_ros.adapters.event_camera import read_event_packets
    from snn_ros.adapters.event_codecs import payload_array, StreamDecoder
    decoder = StreamDecoder()
    xs, ys, ps = [], [], []
    width = height = 0
    for msg in read_event_packets(BAG):
        ev = decoder.decode(msg.encoding, payload_array(msg.events), int(msg.width),
                            int(msg.height), int(msg.time_base), bool(msg.is_bigendian),
                            commit=False)
        decoder.commit()
        xs.append(ev.x.copy())
        ys.append(ev.y.copy())
        ps.append(ev.p.copy())
        width, height = int(msg.width), int(msg.height)
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ps), width, height


def make_packets(events, rate_mevps, duration_s, packet_ms):
    """Loop and re-time the events to ``rate_mevps``; return (payload, n_events) per packet."""
    from snn_ros.adapters.event_codecs import encode_evt3
    x, y, p = events[:3]
    per_packet = int(rate_mevps * 1e6 * packet_ms / 1000)
    n_packets = int(round(duration_s * 1000 / packet_ms))
    out = []
    start = 0
    for k in range(n_packets):
        idx = (start + np.arange(per_packet)) % x.size
        start += per_packet
        t0 = k * packet_ms * 1_000_000
        t = t0 + (np.arange(per_packet, dtype=np.int64) * packet_ms * 1_000_000) // per_packet
        t[-1] = t0 + packet_ms * 1_000_000 - 1000  # the packet spans all its steps
        # self-contained packets (time-high words first): a dropped packet cannot make the
        # next one decode with stale time; array('B') is what the message field holds, so
        # publishing converts nothing in Python
        out.append((array.array('B', encode_evt3(x[idx], y[idx], p[idx], t)), per_packet))
    return out


SHM_PROFILE = '''<?xml version="1.0" encoding="UTF-8" ?>
<dds xmlns="http://www.eprosima.com">
  <profiles>
    <transport_descriptors>
      <transport_descriptor>
        <transport_id>graph_bench_shm</transport_id>
        <type>SHM</type>
        <segment_size>{segment}</segment_size>
        <maxMessageSize>{message}</maxMessageSize>
      </transport_descriptor>
    </transport_descriptors>
    <participant profile_name="graph_bench" is_default_profile="true">
      <rtps>
        <userTransports><transport_id>graph_bench_shm</transport_id></userTransports>
        <useBuiltinTransports>false</useBuiltinTransports>
      </rtps>
    </participant>
  </profiles>
</dds>
'''


def use_shm_transport(directory, segment_mb):
    """Make this process and the graph use Fast-DDS shared memory only, ``segment_mb`` MB.

    Fast-DDS's default shared-memory segment (0.5 MB) cannot hold the 1.2 MB packets of
    30 Mev/s; they then go over UDP in 64 kB fragments and, best effort, most are lost.
    """
    path = Path(directory) / 'fastdds_shm.xml'
    segment = int(segment_mb * 1024 * 1024)
    path.write_text(SHM_PROFILE.format(segment=segment, message=segment // 4))
    os.environ['FASTDDS_DEFAULT_PROFILES_FILE'] = str(path)


def write_config(path, packet_ms, n_layers=0, n_hidden=0):
    """Write the bench params YAML: config/event_camera.yaml, mode 'data', learning on.

    ``n_layers``/``n_hidden`` (when non-zero) shrink the network, to see the graph's own cost.
    """
    doc = yaml.safe_load((REPO / 'config' / 'event_camera.yaml').read_text())
    core = doc['snn_core']['ros__parameters']
    if n_layers:
        core['layers']['n_layers'] = n_layers
    if n_hidden:
        core['layers']['n_hidden'] = n_hidden
        core['layers']['block_size'] = min(core['layers']['block_size'], n_hidden)
    core['mode'] = 'data'
    core['readout']['window_steps'] = packet_ms
    core['plasticity']['learning'] = True
    core['checkpoint'] = ''
    doc['readout']['ros__parameters']['window_steps'] = packet_ms
    doc['readout']['ros__parameters']['watchdog']['deadline_s'] = 5.0
    path.write_text(yaml.safe_dump(doc))


def start_graph(mode, params_file, composed_args=()):
    """Start the graph processes; return them."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    ros = ['--ros-args', '--params-file', str(params_file), '--log-level', 'warn']
    if mode == 'composed':
        cmds = [[sys.executable, '-m', 'snn_ros.nodes.composed', '--adapters', 'event_camera',
                 *composed_args, *ros]]
    else:
        cmds = [[sys.executable, '-m', f'snn_ros.nodes.{m}', *ros]
                for m in ('event_camera_node', 'snn_core_node', 'readout_node')]
    return [subprocess.Popen(c, cwd=REPO, env=env, stdout=subprocess.DEVNULL) for c in cmds]


def cpu_seconds(procs):
    """Return the CPU time (user + system) the processes used so far (NaN without /proc)."""
    total = 0.0
    for proc in procs:
        try:
            fields = Path(f'/proc/{proc.pid}/stat').read_text().rsplit(')', 1)[1].split()
        except OSError:
            return float('nan')
        total += (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
    return total


def stop_graph(procs):
    """Stop the processes with Ctrl-C (then kill)."""
    for proc in procs:
        proc.send_signal(signal.SIGINT)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_case(mode, rate, packets, width, height, packet_ms, params_file, composed_args=()):
    """Publish the packets in real time to a fresh graph; return the metrics."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import qos_profile_sensor_data, QoSProfile, ReliabilityPolicy

    from event_camera_msgs.msg import EventPacket
    from snn_ros.msg import Decision, LearningStatus

    procs = start_graph(mode, params_file, composed_args)
    rclpy.init()
    node = rclpy.create_node('graph_bench')
    received = {}
    lock = threading.Lock()

    def on_decision(msg):
        now = time.perf_counter()
        key = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        with lock:
            received.setdefault(key, now)
    node.create_subscription(Decision, '/readout/decision', on_decision,
                             QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE))
    pub = node.create_publisher(EventPacket, '/event_camera/events', qos_profile_sensor_data)
    ready = threading.Event()
    node.create_subscription(LearningStatus, '/snn_core/status', lambda _: ready.set(),
                             QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        deadline = time.monotonic() + 120
        while (pub.get_subscription_count() < 1 or not ready.is_set()  # core warmed up
               or node.count_publishers('/readout/decision') < 1) and \
                time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # let discovery settle both ways
        sent = {}
        period = packet_ms / 1000.0
        t_start = time.perf_counter()
        cpu_start = cpu_seconds(procs)
        for k, (payload, _) in enumerate(packets):
            target = t_start + k * period
            while time.perf_counter() < target:
                time.sleep(min(0.0005, max(0.0, target - time.perf_counter())))
            msg = EventPacket(width=width, height=height, encoding='evt3', time_base=0,
                              seq=k)
            msg.events = payload
            key = ((k + 1) * packet_ms - 1) * 1_000_000
            sent[key] = time.perf_counter()
            pub.publish(msg)
        t_end = time.perf_counter()
        cpu_used = cpu_seconds(procs) - cpu_start
        wait_until = time.perf_counter() + 5.0
        while time.perf_counter() < wait_until:
            with lock:
                if len(received) >= len(sent):
                    break
            time.sleep(0.01)
        with lock:
            got = dict(received)
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown()
        stop_graph(procs)
    skip = max(1, len(packets) // 10)  # the first packets include start-up effects
    keys = sorted(sent)[skip:]
    lat = np.array([(got[k] - sent[k]) * 1000.0 for k in keys if k in got])
    fifth = max(1, lat.size // 5)
    growth = (float(np.median(lat[-fifth:]) - np.median(lat[:fifth])) if lat.size
              else float('nan'))
    decided = [k for k in sorted(sent) if k in got]
    events = sum(n for (_, n), k in zip(packets, sorted(sent)) if k in got)
    last = max((got[k] for k in decided), default=t_end)
    case = f'{mode}_{rate:g}mevps'
    return case, {
        'latency_p50_ms': (float(np.percentile(lat, 50)) if lat.size else float('nan'), 'ms'),
        'latency_p99_ms': (float(np.percentile(lat, 99)) if lat.size else float('nan'), 'ms'),
        'dropped_packets': (len(sent) - len(decided), 'packets'),
        'sustained_mev_per_s': (events / 1e6 / max(last - t_start, 1e-9), 'Mev/s'),
        'latency_growth_ms': (growth, 'ms'),
        'graph_cpu_ms_per_packet': (cpu_used * 1000.0 / len(packets), 'ms'),
    }


def main(argv=None):
    """Run every mode x rate case and print JSON lines."""
    from snn_ros.nodes.common import EXECUTORS   # imports rclpy, like every case here
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rates', default='1,10,30', help='Mev/s, comma-separated')
    parser.add_argument('--modes', default='composed,separate')
    parser.add_argument('--duration-s', type=float, default=2.0, help='sensor time per case')
    parser.add_argument('--packet-ms', type=int, default=10, help='sensor time per packet')
    parser.add_argument('--n-layers', type=int, default=0,
                        help='hidden layers (0: as in config/event_camera.yaml)')
    parser.add_argument('--n-hidden', type=int, default=0,
                        help='neurons per hidden layer (0: as in config/event_camera.yaml)')
    parser.add_argument('--tag', default='', help='suffix of the case names')
    parser.add_argument('--dds-profile', default=str(REPO / 'config' / 'fastdds_event_camera.xml'),
                        help='Fast-DDS profile for every process (default: the shipped '
                             'config/fastdds_event_camera.xml; empty: Fast-DDS defaults)')
    parser.add_argument('--shm-mb', type=float, default=0.0,
                        help='instead of --dds-profile: shared memory only, segment of this '
                             'many MB (30 Mev/s packets need about 8)')
    parser.add_argument('--no-direct', action='store_true',
                        help='composed: hand spikes between the nodes over DDS (for comparison)')
    parser.add_argument('--executor', default='auto', choices=EXECUTORS,
                        help='composed: the executor of snn_ros_composed (its --executor)')
    opts = parser.parse_args(argv)
    if not BAG.is_dir():
        print(f'# skipped: recording not present at {BAG}', file=sys.stderr)
        return
    events = load_events()
    width, height = events[3], events[4]
    with tempfile.TemporaryDirectory() as tmp:
        params_file = Path(tmp) / 'graph_bench.yaml'
        if opts.shm_mb > 0:
            use_shm_transport(tmp, opts.shm_mb)
        elif opts.dds_profile:
            os.environ['FASTDDS_DEFAULT_PROFILES_FILE'] = str(Path(opts.dds_profile).resolve())
        write_config(params_file, opts.packet_ms, opts.n_layers, opts.n_hidden)
        composed_args = ['--executor', opts.executor] + (['--no-direct'] if opts.no_direct else [])
        for rate in [float(r) for r in opts.rates.split(',')]:
            packets = make_packets(events, rate, opts.duration_s, opts.packet_ms)
            for mode in opts.modes.split(','):
                case, metrics = run_case(mode, rate, packets, width, height, opts.packet_ms,
                                         params_file, composed_args)
                case += opts.tag
                for metric, (value, unit) in metrics.items():
                    value = None if value != value else round(value, 3)  # NaN: no decision
                    print(json.dumps({'bench': 'graph', 'case': case, 'impl': 'snn_ros',
                                      'metric': metric, 'value': value, 'unit': unit}),
                          flush=True)
            del packets


if __name__ == '__main__':
    main()
