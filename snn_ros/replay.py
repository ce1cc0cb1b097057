"""Fast offline replay without ROS: bag -> adapters -> core -> readout, in bag time order.

Every message of the selected topics goes, in bag time order, through the same pieces the live
graph runs, with the same parameters (a params YAML keyed by node name, as the launch files and
``snn_ros_composed`` use):

- the adapter of its message type (``snn_ros.adapters``), built like the adapter node builds it
  (``adapter_cls(config, dt_ns)``); a rejected message is counted and skipped, an empty batch
  is not stepped (the node publishes nothing then);
- :class:`snn_ros.runtime.CoreRuntime` in ``mode: data``, the very logic ``SnnCoreNode`` runs
  on one ``SpikeEvents`` message (input checks, channel offset, steps an input already ran
  dropped, one ``Network.step`` per step, a decision window end every
  ``readout.window_steps`` steps where the latest ``~/label`` teaches);
- :class:`snn_ros.runtime.ReadoutRuntime`, the logic of ``ReadoutNode`` on
  ``~/readout_spikes`` (windows of ``window_steps`` steps -> ``Decision`` -> command with
  limits and smoothing).

The nodes are thin wrappers around the same runtime classes; the tests replay one bag both
ways and compare the decisions (see ``test/test_replay_live.py``).
Labels come from an ``std_msgs/Int32`` topic in the bag, a CSV of time intervals, or a file
naming one label per recording. Outputs (decisions, commands, status, optional spikes) can be
written to an MCAP or sqlite3 bag (:class:`snn_ros.bagio.BagWriter`).
"""

from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass, field
import importlib
from pathlib import Path
import time
from typing import Any, Iterable

import numpy as np

from snn_ros.bagio import BagNotFoundError, BagReader, BagWriter, CorruptBagError, \
    NS_PER_S, ReplayError, UndecodableTypeError, UnknownTopicError
from snn_ros.core.params import build, field_names, flatten_mapping
from snn_ros.runtime import CoreNodeConfig, CoreRuntime, ReadoutNodeConfig, ReadoutRuntime

__all__ = ['ADAPTERS', 'BagNotFoundError', 'CorruptBagError', 'DecisionRecord', 'LabelSchedule',
           'ReplayError', 'ReplayResult', 'UndecodableTypeError', 'UnknownTopicError',
           'load_params', 'replay']

# message type -> (default node name, adapter module, adapter class, config class)
ADAPTERS: dict[str, tuple[str, str, str, str]] = {
    'event_camera_msgs/msg/EventPacket': ('event_camera', 'snn_ros.adapters.event_camera',
                                          'EventCameraAdapter', 'EventCameraConfig'),
    'sensor_msgs/msg/Imu': ('imu', 'snn_ros.adapters.imu', 'ImuAdapter', 'ImuConfig'),
    'std_msgs/msg/Float32MultiArray': ('biosignal', 'snn_ros.adapters.biosignal',
                                       'BiosignalAdapter', 'BiosignalConfig'),
    'sensor_msgs/msg/Image': ('image', 'snn_ros.adapters.image', 'ImageAdapter',
                              'ImageConfig'),
    'sensor_msgs/msg/JointState': ('joint_state', 'snn_ros.adapters.joint_state',
                                   'JointStateAdapter', 'JointStateConfig'),
    'sensor_msgs/msg/LaserScan': ('laser_scan', 'snn_ros.adapters.laser_scan',
                                  'LaserScanAdapter', 'LaserScanConfig'),
}
# node name -> message type (for --topic TOPIC=NODE)
NODE_TYPES = {v[0]: k for k, v in ADAPTERS.items()}
NODE_TYPES['array'] = 'std_msgs/msg/Float32MultiArray'
ARRAY_ADAPTER = ('array', 'snn_ros.adapters.array', 'ArrayAdapter', 'ArrayConfig')
LABEL_TYPES = ('std_msgs/msg/Int32', 'std_msgs/msg/Int64', 'std_msgs/msg/Int16',
               'std_msgs/msg/Int8', 'std_msgs/msg/UInt8')
CORE_NODE = 'snn_core'
READOUT_NODE = 'readout'


# ----------------------------------------------------------------------------- parameters


def load_params(path: str | Path | None) -> dict[str, dict[str, Any]]:
    """Read a ROS 2 params YAML into ``{node_name: {dotted_param: value}}``.

    Accepts ``node: {ros__parameters: {...}}`` (node keys may carry a namespace such as
    ``/**/snn_core`` or ``/robot/snn_core``) and plain ``node: {...}`` mappings.

    Raises:
        ReplayError: the file is missing or not a mapping.
    """
    if path is None:
        return {}
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ReplayError(f'params file not found: {p}')
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as err:
        raise ReplayError(f'params file {p} is not valid YAML: {err}') from None
    if not isinstance(data, dict):
        raise ReplayError(f'params file {p}: expected a mapping of node names')
    out: dict[str, dict[str, Any]] = {}
    for key, val in data.items():
        name = str(key).rstrip('/').split('/')[-1]
        if isinstance(val, dict) and 'ros__parameters' in val:
            val = val['ros__parameters'] or {}
        if isinstance(val, dict):
            out.setdefault(name, {}).update(flatten_mapping(val))
    return out


def build_config(cls: type, flat: dict[str, Any], what: str) -> Any:
    """Build config ``cls`` from the dotted parameters it declares (others are ignored).

    Raises:
        ReplayError: a value the config refuses (its message names the field).
    """
    names = field_names(cls)
    mine = {k: v for k, v in flat.items() if k in names}
    try:
        return build(cls, mine)
    except (ValueError, TypeError) as err:
        raise ReplayError(f'{what}: invalid parameters: {err}') from None


# ----------------------------------------------------------------------------- labels


@dataclass
class LabelSchedule:
    """Label changes ``(t_ns, label)`` in bag time; -1 stops teaching."""

    events: list[tuple[int, int]] = field(default_factory=list)

    @classmethod
    def from_csv(cls, path: str | Path, bag_start_ns: int) -> LabelSchedule:
        """Read ``start,end,label`` rows; times in s from the bag start, or ns with ``_ns``.

        The header decides the unit: ``start_s,end_s,label`` (relative seconds, the default
        when there is no header) or ``start_ns,end_ns,label`` (absolute bag time). Outside the
        intervals there is no label (no teaching). ``label`` may be a class index or a name
        from ``class_names``.
        """
        p = Path(path)
        if not p.is_file():
            raise ReplayError(f'labels file not found: {p}')
        rows = [r for r in csv.reader(p.read_text().splitlines()) if r and r[0].strip()
                and not r[0].lstrip().startswith('#')]
        absolute = False
        if rows and not _is_number(rows[0][0]):
            absolute = rows[0][0].strip().endswith('_ns')
            rows = rows[1:]
        ev: list[tuple[int, int]] = []
        for k, r in enumerate(rows):
            if len(r) < 3:
                raise ReplayError(f'{p}: row {k + 1} needs start,end,label, got {r}')
            try:
                a, b, lab = float(r[0]), float(r[1]), int(r[2])
            except ValueError:
                raise ReplayError(f'{p}: row {k + 1} is not numeric: {r}') from None
            if absolute:
                t0, t1 = int(a), int(b)
            else:
                t0, t1 = bag_start_ns + int(round(a * NS_PER_S)), bag_start_ns + int(
                    round(b * NS_PER_S))
            if t1 < t0:
                raise ReplayError(f'{p}: row {k + 1} ends before it starts')
            ev.append((t0, lab))
            ev.append((t1, -1))
        ev.sort(key=lambda e: e[0])
        return cls(_merge_ends(ev))

    @staticmethod
    def per_recording(path: str | Path, bag: str | Path) -> int:
        """Return the label a file (``name label`` per line, or ``name,label``) gives ``bag``.

        The recording matches by its file or folder name, with or without extension.

        Raises:
            ReplayError: the file is missing or does not name the recording.
        """
        p = Path(path)
        if not p.is_file():
            raise ReplayError(f'labels file not found: {p}')
        b = Path(bag)
        keys = {b.name, b.stem, str(b)}
        for line in p.read_text().splitlines():
            parts = line.replace(',', ' ').split()
            if len(parts) < 2 or parts[0].startswith('#'):
                continue
            if parts[0] in keys or Path(parts[0]).stem in keys:
                try:
                    return int(parts[1])
                except ValueError:
                    raise ReplayError(f'{p}: label {parts[1]!r} is not an integer') from None
        raise ReplayError(f'{p} names no label for recording {b.name}')

    def before(self, t_ns: int, start: int) -> tuple[int, list[int]]:
        """Return (next index, labels that change at or before ``t_ns`` from ``start``)."""
        out = []
        k = start
        while k < len(self.events) and self.events[k][0] <= t_ns:
            out.append(self.events[k][1])
            k += 1
        return k, out


def _merge_ends(ev: list[tuple[int, int]]) -> list[tuple[int, int]]:
    # an interval starting where the previous one ends: drop the -1 between them
    out: list[tuple[int, int]] = []
    for t, lab in ev:
        if out and out[-1][0] == t and out[-1][1] == -1 and lab >= 0:
            out[-1] = (t, lab)
        else:
            out.append((t, lab))
    return out


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


# ----------------------------------------------------------------------------- records


@dataclass
class DecisionRecord:
    """One readout decision (as ``snn_ros/Decision``) plus its true label."""

    stamp_ns: int
    bag_t_ns: int
    class_index: int
    spike_counts: list[int]
    margin: float
    confidence: float
    window_steps: int
    label: int
    command: tuple[float, float]


# ----------------------------------------------------------------------------- the pipeline


def _load_class(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as err:
        raise ReplayError(f'adapter {module}.{name} is not available: {err}') from None


def make_adapter(node: str, msgtype: str, flat: dict[str, Any], dt_ns: int) -> Any:
    """Build the adapter the node ``node`` would build for ``msgtype`` from its parameters."""
    spec = ARRAY_ADAPTER if node == 'array' else ADAPTERS.get(msgtype)
    if spec is None:
        raise UndecodableTypeError(f'no adapter for message type {msgtype!r}; known: '
                                   f'{sorted(ADAPTERS)}')
    adapter_cls = _load_class(spec[1], spec[2])
    config_cls = _load_class(spec[1], spec[3])
    cfg = build_config(config_cls, flat, node)
    try:
        return adapter_cls(cfg, dt_ns)
    except TypeError:
        return adapter_cls(cfg)  # adapters whose config carries dt_ns


@dataclass
class ReplayResult:
    """What a replay did: decisions, counters, timings and where outputs went."""

    decisions: list[DecisionRecord]
    summary: dict[str, Any]
    network: Any


def _topic_key(t: str) -> str:
    return t.strip('/')


def replay(bags: str | Path | list[str | Path], params: dict[str, dict[str, Any]] | None = None,
           *, topics: dict[str, str] | None = None, label_topic: str | None = None,
           labels_csv: str | Path | None = None, labels_file: str | Path | None = None,
           checkpoint: str | Path | None = None, save_checkpoint: str | Path | None = None,
           learning: bool | None = None, seed: int | None = None,
           output_bag: str | Path | None = None, output_storage: str = 'mcap',
           record_spikes: bool = False, recorder: Any = None, progress: bool = False,
           max_messages: int | None = None, network: Any = None) -> ReplayResult:
    """Replay one or more bags through adapters, core and readout as fast as the CPU allows.

    Args:
        bags: bag path(s); several are replayed one after the other into the same network.
        params: ``{node: {param: value}}`` from :func:`load_params` (missing = defaults).
        topics: ``{bag_topic: adapter_node}``; default: every topic with an adapter type goes
            to the node named after its type (``event_camera``, ``imu``, ``biosignal``, ...).
        label_topic: an ``std_msgs/Int32`` topic of the bag carrying ``~/label`` values.
            Default: ``/snn_core/label`` when the bag has it.
        labels_csv: CSV of ``start,end,label`` intervals (see :class:`LabelSchedule`).
        labels_file: file naming one label per recording (``name label`` lines).
        checkpoint: start from this network checkpoint (``Network.load``).
        save_checkpoint: save the network here at the end.
        learning: force learning on/off (default: the config's ``plasticity.learning``).
        seed: network seed (default: the core node's ``seed`` parameter).
        output_bag: write decisions, commands, status (and spikes) here.
        output_storage: ``'mcap'`` or ``'sqlite3'``.
        record_spikes: also write input and readout ``SpikeEvents`` to the output bag.
        recorder: optional :class:`snn_ros.report.RunRecorder` filled on the way.
        progress: show a tqdm progress bar.
        max_messages: stop after this many sensor messages (None = all).
        network: use this network object instead of building one.

    Returns:
        The decisions, a JSON-able summary and the network.

    Raises:
        ReplayError: missing bag, unknown topic, undecodable type, corrupt bag, bad params.
    """
    from snn_ros.core.config import NetworkConfig
    from snn_ros.core.errors import CheckpointError
    from snn_ros.core.network import Network

    t_wall = time.perf_counter()
    bag_list = [bags] if isinstance(bags, (str, Path)) else list(bags)
    if not bag_list:
        raise ReplayError('no bag given')
    params = params or {}
    core_flat = dict(params.get(CORE_NODE, {}))
    net_cfg = build_config(NetworkConfig, core_flat, CORE_NODE)
    node_cfg = _core_node_config(core_flat)
    readout_cfg = build_config(ReadoutNodeConfig, params.get(READOUT_NODE, {}), READOUT_NODE)
    if learning is not None:
        net_cfg = NetworkConfig.from_dict(_set(net_cfg.to_dict(), 'plasticity', 'learning',
                                               bool(learning)))
    if seed is None:
        seed = int(node_cfg.seed)
    if network is not None:
        net = network
    elif checkpoint:
        try:
            net = Network.load(checkpoint, net_cfg)
        except (CheckpointError, OSError, ValueError) as err:
            raise ReplayError(f'cannot load checkpoint {checkpoint}: {err}') from None
    else:
        net = Network(net_cfg, seed)
    dt_ns = int(round(net.config.dt_s * 1e9))
    input_topics = [_topic_key(t) for t in node_cfg.inputs.topics]

    # per-step statistics without touching the network's own counters (no weight flush)
    n_groups = len(net.groups)
    spike_acc = np.zeros(n_groups, np.int64)
    step_acc = [0]

    def on_step(n: Any) -> None:
        for k, g in enumerate(n.groups):
            spike_acc[k] += g.n_spikes
        step_acc[0] += 1

    core = CoreRuntime(net, node_cfg, on_step=on_step if recorder is not None else None)
    readout = ReadoutRuntime(readout_cfg)
    status_period_ns = int(float(node_cfg.status_period_s) * NS_PER_S)
    if recorder is not None:
        recorder.dt_s = net.config.dt_s
        recorder.set_weights(net, 'before')
    writer = BagWriter(output_bag, output_storage) if output_bag else None

    decisions: list[DecisionRecord] = []
    per_bag: list[dict[str, Any]] = []
    adapters: dict[str, tuple[Any, str, int]] = {}
    n_msgs = 0
    t_first: int | None = None
    t_last = 0
    next_status: int | None = None
    pbar = None
    try:
        for bag in bag_list:
            with BagReader(bag) as reader:
                info = reader.info
                routes = _routes(info.topics, topics)
                if not routes:
                    raise UnknownTopicError(
                        f'bag {bag} has no topic with a known sensor type; topics: '
                        + ', '.join(f'{t} [{m}]' for t, m in sorted(info.topics.items()))
                        + f'; adapter types: {sorted(ADAPTERS)}')
                ltopic = label_topic
                if ltopic is None and info.topics.get('/snn_core/label') in LABEL_TYPES:
                    ltopic = '/snn_core/label'
                if ltopic is not None:
                    if ltopic not in info.topics:
                        reader.check_topics([ltopic])
                    if info.topics[ltopic] not in LABEL_TYPES:
                        raise UndecodableTypeError(
                            f'label topic {ltopic} has type {info.topics[ltopic]}; expected '
                            f'one of {LABEL_TYPES}')
                for topic, node in routes.items():
                    key = f'{node}/spikes'
                    if node in adapters:
                        continue
                    if key not in input_topics:
                        raise ReplayError(
                            f'topic {topic} goes to adapter node {node!r}, whose {key} is not '
                            f'an input of {CORE_NODE} (inputs.topics = {input_topics}); add it '
                            'to the params file')
                    k = input_topics.index(key)
                    ad = make_adapter(node, info.topics[topic], params.get(node, {}), dt_ns)
                    adapters[node] = (ad, key, k)
                schedule = LabelSchedule()
                if labels_csv is not None:
                    start = _bag_start(reader)
                    schedule = LabelSchedule.from_csv(labels_csv, start)
                fixed = None
                if labels_file is not None:
                    fixed = LabelSchedule.per_recording(labels_file, bag)
                    core.on_label(fixed)
                sel = list(routes) + ([ltopic] if ltopic else [])
                if progress and pbar is None:
                    from tqdm import tqdm
                    total = sum(info.counts.get(t, 0) for t in sel)
                    pbar = tqdm(total=total, unit='msg', desc=f'replay {Path(bag).name}',
                                leave=False)
                sched_k = 0
                bag_msgs = 0
                for m in reader.messages(sel):
                    sched_k, changes = schedule.before(m.t_ns, sched_k)
                    for lab in changes:
                        core.on_label(lab)
                    if pbar is not None:
                        pbar.update(1)
                    t_first = m.t_ns if t_first is None else t_first
                    t_last = m.t_ns
                    if next_status is None:
                        next_status = m.t_ns + status_period_ns
                    if m.topic == ltopic:
                        core.on_label(int(m.msg.data))
                        continue
                    node = routes[m.topic]
                    ad, key, k_in = adapters[node]
                    n_msgs += 1
                    bag_msgs += 1
                    try:
                        batch = ad.process(m.msg)
                    except ValueError:  # AdapterError: counted by the adapter, dropped
                        continue
                    except Exception:  # noqa: BLE001 - the node survives any bad message
                        ad.counters.rejected += 1
                        continue
                    if batch.n_steps <= 0:
                        continue
                    if writer is not None and record_spikes:
                        _write_spikes(writer, f'/{key}', m.t_ns, batch.indices,
                                      batch.step_offsets, batch.n_steps, batch.t0_ns,
                                      batch.dt_ns, batch.population_size)
                    out = core.on_spikes(k_in, batch.indices, batch.step_offsets,
                                         batch.n_steps, batch.population_size, batch.dt_ns,
                                         batch.t0_ns)
                    if out is None:
                        continue
                    n_readout = net.config.readout.n_readout
                    if writer is not None and record_spikes:
                        _write_spikes(writer, '/snn_core/readout_spikes', m.t_ns,
                                      out.readout_indices, out.readout_offsets, out.n_steps,
                                      out.t0_ns, dt_ns, n_readout)
                    for d in readout.on_spikes(out.readout_indices, out.readout_offsets,
                                               out.n_steps, n_readout, out.t0_ns, dt_ns):
                        rec = DecisionRecord(d.stamp_ns, m.t_ns, d.class_index,
                                             d.spike_counts, d.margin, d.confidence,
                                             d.window_steps, core.label, d.command)
                        decisions.append(rec)
                        if recorder is not None:
                            recorder.add_decision((m.t_ns - (t_first or 0)) / NS_PER_S,
                                                  rec.class_index, rec.label,
                                                  not net.config.plasticity.learning)
                        if writer is not None:
                            _write_decision(writer, rec, readout_cfg,
                                            net.config.plasticity.learning)
                    if m.t_ns >= next_status:
                        next_status = m.t_ns + status_period_ns
                        _status(net, recorder, writer, m.t_ns, (m.t_ns - t_first) / NS_PER_S,
                                spike_acc, step_acc, core)
                    if max_messages is not None and n_msgs >= max_messages:
                        break
                if fixed is not None:
                    core.on_label(-1)
                per_bag.append({'bag': str(bag), 'storage': info.storage,
                                'topics': info.topics, 'messages': info.counts,
                                'sensor_messages_replayed': bag_msgs,
                                'truncated': info.truncated, 'warnings': info.warnings})
            if max_messages is not None and n_msgs >= max_messages:
                break
    finally:
        if pbar is not None:
            pbar.close()
        if writer is not None:
            writer.close()
    if recorder is not None and step_acc[0]:
        _status(net, recorder, None, t_last, (t_last - (t_first or 0)) / NS_PER_S, spike_acc,
                step_acc, core)
    if save_checkpoint:
        net.save(save_checkpoint)
    wall = time.perf_counter() - t_wall
    labelled = [d for d in decisions if d.label >= 0]
    correct = sum(1 for d in labelled if d.class_index == d.label)
    bag_s = (t_last - t_first) / NS_PER_S if t_first is not None else 0.0
    summary: dict[str, Any] = {
        'bags': per_bag,
        'sensor_messages': n_msgs,
        'adapters': {n: a[0].counters.as_dict() for n, a in adapters.items()},
        'core': core.counters(),
        'network_steps': int(net.t),
        'decisions': len(decisions),
        'labelled_decisions': len(labelled),
        'accuracy': (correct / len(labelled)) if labelled else None,
        'class_histogram': np.bincount([d.class_index + 1 for d in decisions],
                                       minlength=net.config.readout.n_classes + 1)[1:].tolist()
        if decisions else [],
        'no_spike_decisions': sum(1 for d in decisions if d.class_index < 0),
        'seed': int(getattr(net, 'seed', seed or 0)),
        'learning': bool(net.config.plasticity.learning),
        'timings': {'wall_s': round(wall, 3), 'bag_s': round(bag_s, 3),
                    'messages_per_s': round(n_msgs / wall, 1) if wall > 0 else None,
                    'realtime_factor': round(bag_s / wall, 2) if wall > 0 else None},
        'output_bag': str(output_bag) if output_bag else None,
    }
    return ReplayResult(decisions, summary, net)


def _set(d: dict[str, Any], group: str, key: str, value: Any) -> dict[str, Any]:
    d = dict(d)
    d[group] = dict(d.get(group, {}), **{key: value})
    return d


def _bag_start(reader: BagReader) -> int:
    r = getattr(reader, '_reader', None)
    if r is not None and hasattr(r, 'start_time'):
        try:
            return int(r.start_time)
        except Exception:  # noqa: BLE001 - per-file readers without a start time
            pass
    for m in reader.raw_messages():
        return m[2]
    return 0


def _routes(bag_topics: dict[str, str], topics: dict[str, str] | None) -> dict[str, str]:
    """Return ``{bag_topic: adapter_node}``."""
    if topics:
        out = {}
        for t, node in topics.items():
            if t not in bag_topics:
                raise UnknownTopicError(
                    f'topic {t} not in the bag; it has: '
                    + ', '.join(f'{k} [{v}]' for k, v in sorted(bag_topics.items())))
            want = NODE_TYPES.get(node)
            if want is None:
                raise ReplayError(f'unknown adapter node {node!r}; known: {sorted(NODE_TYPES)}')
            if bag_topics[t] != want:
                raise UndecodableTypeError(f'topic {t} has type {bag_topics[t]}, adapter node '
                                           f'{node!r} takes {want}')
            out[t] = node
        return out
    return {t: ADAPTERS[m][0] for t, m in sorted(bag_topics.items()) if m in ADAPTERS}


def _core_node_config(flat: dict[str, Any]) -> CoreNodeConfig:
    """Return the core node's config from its dotted parameters, in ``mode: data``."""
    cfg = build_config(CoreNodeConfig, flat, CORE_NODE)
    return dataclasses.replace(cfg, mode='data')


def _status(net: Any, recorder: Any, writer: Any, t_ns: int, t_s: float, spike_acc: np.ndarray,
            step_acc: list[int], core: CoreRuntime) -> None:
    """Record rates, thresholds and modulation without flushing the network's weights."""
    steps = max(step_acc[0], 1)
    sizes = np.array([g.v.size for g in net.groups], np.float64)
    rates = (spike_acc / (sizes * steps * net.config.dt_s)).tolist()
    thr = [float(g.theta.mean()) for g in net.groups]
    mod = [float(np.abs(net._m_hidden).mean()), float(np.linalg.norm(net.modulation.activity)),
           float(np.linalg.norm(net._err))]
    if recorder is not None:
        recorder.add_stats(t_s, rates, thr, mod)
    if writer is not None:
        ts = writer.ts
        msg = ts.types['snn_ros/msg/LearningStatus'](
            header=writer.header(t_ns), step=int(net.t),
            learning_enabled=bool(net.config.plasticity.learning),
            learning_rate=float(net.config.plasticity.lr_hidden),
            layer_rate_hz=np.asarray(rates, np.float32),
            threshold_mean=np.asarray(thr[:-1], np.float32), weight_names=[],
            weight_norm=np.zeros(0, np.float32),
            modulatory_activity=np.asarray(net.modulation.activity, np.float32),
            reward_baseline=float(net.baseline.value),
            input_spikes=int(core.counts['input_spikes']),
            dropped_input_spikes=int(core.counts['dropped_input_spikes']),
            rejected_messages=int(core.counts['rejected_messages']))
        writer.write('/snn_core/status', 'snn_ros/msg/LearningStatus', t_ns, msg)
    spike_acc[:] = 0
    step_acc[0] = 0


def _write_spikes(writer: BagWriter, topic: str, t_ns: int, idx: Any, off: Any, n_steps: int,
                  t0_ns: int, dt_ns: int, pop: int) -> None:
    msg = writer.ts.types['snn_ros/msg/SpikeEvents'](
        header=writer.header(max(0, int(t0_ns))), population_size=int(pop), dt_ns=int(dt_ns),
        n_steps=int(n_steps), indices=np.asarray(idx, np.uint32),
        step_offsets=np.asarray(off, np.uint32))
    writer.write(topic, 'snn_ros/msg/SpikeEvents', t_ns, msg)


def _write_decision(writer: BagWriter, d: DecisionRecord, cfg: Any, learning: bool) -> None:
    names = tuple(getattr(cfg, 'class_names', ()) or ())
    msg = writer.ts.types['snn_ros/msg/Decision'](
        header=writer.header(d.stamp_ns), class_index=int(d.class_index),
        class_name=names[d.class_index] if names and d.class_index >= 0 else '',
        spike_counts=np.asarray(d.spike_counts, np.uint32), margin=float(d.margin),
        confidence=float(d.confidence), window_steps=int(d.window_steps),
        learning_enabled=bool(learning))
    writer.write('/readout/decision', 'snn_ros/msg/Decision', d.bag_t_ns, msg)
    ts = writer.ts.types
    twist = ts['geometry_msgs/msg/Twist'](
        linear=ts['geometry_msgs/msg/Vector3'](x=float(d.command[0]), y=0.0, z=0.0),
        angular=ts['geometry_msgs/msg/Vector3'](x=0.0, y=0.0, z=float(d.command[1])))
    writer.write('/cmd_vel', 'geometry_msgs/msg/Twist', d.bag_t_ns, twist)


def iter_decisions(result: ReplayResult) -> Iterable[tuple[int, int, list[int]]]:
    """Yield ``(stamp_ns, class_index, spike_counts)`` per decision (for comparisons)."""
    for d in result.decisions:
        yield d.stamp_ns, d.class_index, d.spike_counts
