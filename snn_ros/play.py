"""Live replay into the ROS graph: publish a bag's messages with their original timing.

Like ``ros2 bag play`` (which needs rosbag2_py): every selected topic of the bag is published
with its recorded type, in bag time order, at the recorded gaps divided by ``rate``;
``/clock`` (``rosgraph_msgs/Clock``) carries the bag time so nodes with ``use_sim_time`` run
on it. Topics can be renamed (``--remap /cam/events:=/event_camera/events``).

With ``graph=PARAMS_YAML`` the player also starts the snn_ros graph in the same process
(adapter nodes, the SNN core and the readout, as ``snn_ros_composed`` does, one executor) and
collects the readout's decisions, so one command replays a bag live end to end. This module
is the only one of the replay tools that imports rclpy.
"""

from __future__ import annotations

import importlib
from pathlib import Path
import threading
import time
from typing import Any

from snn_ros.bagio import BagReader, ReplayError, UndecodableTypeError

NS_PER_S = 1_000_000_000


def message_class(msgtype: str) -> Any:
    """Return the rclpy message class of ``'pkg/msg/Name'``.

    Raises:
        UndecodableTypeError: the interface package is not installed.
    """
    parts = msgtype.split('/')
    if len(parts) == 2:
        parts = [parts[0], 'msg', parts[1]]
    try:
        return getattr(importlib.import_module(f'{parts[0]}.{parts[1]}'), parts[2])
    except (ImportError, AttributeError):
        raise UndecodableTypeError(f'message type {msgtype!r} is not installed for rclpy; '
                                   'cannot publish it') from None


def parse_remaps(remaps: list[str] | None) -> dict[str, str]:
    """Turn ``['/a:=/b', ...]`` into ``{'/a': '/b'}``."""
    out = {}
    for r in remaps or []:
        if ':=' not in r:
            raise ReplayError(f'remap {r!r} must look like FROM:=TO')
        a, b = r.split(':=', 1)
        out[a.strip()] = b.strip()
    return out


class _Collector:
    """Keep the decisions the readout node publishes (and pass status messages on)."""

    def __init__(self, node: Any, topic: str, on_decision: Any = None,
                 on_status: Any = None) -> None:
        from snn_ros.msg import Decision, LearningStatus

        self.decisions: list[tuple[int, int, list[int]]] = []
        self.on_decision = on_decision
        self.on_status = on_status
        self.t0 = time.monotonic()
        node.create_subscription(Decision, topic, self._on, 1000)
        if on_status is not None:
            node.create_subscription(LearningStatus, '/snn_core/status', self._on_status, 100)

    def _on(self, msg: Any) -> None:
        stamp = int(msg.header.stamp.sec) * NS_PER_S + int(msg.header.stamp.nanosec)
        d = (stamp, int(msg.class_index), [int(v) for v in msg.spike_counts])
        self.decisions.append(d)
        if self.on_decision is not None:
            self.on_decision(*d)

    def _on_status(self, msg: Any) -> None:
        self.on_status(msg, time.monotonic() - self.t0)


def play(bags: str | Path | list[str | Path], *, rate: float = 1.0,
         remap: dict[str, str] | None = None, topics: list[str] | None = None,
         clock: bool = True, clock_hz: float = 100.0, graph: str | Path | None = None,
         adapters: list[str] | None = None, decision_topic: str = '/readout/decision',
         wait_subscribers_s: float = 5.0, settle_s: float = 1.0, progress: bool = False,
         lockstep: bool = False, on_decision: Any = None, on_status: Any = None,
         hooks: dict[str, Any] | None = None, domain_args: list[str] | None = None
         ) -> dict[str, Any]:
    """Publish bag messages into the ROS graph with their original timing.

    Args:
        bags: bag path(s), played one after another.
        rate: playback speed factor (2.0 = twice as fast).
        remap: ``{bag_topic: published_topic}``.
        topics: only these bag topics (default: all).
        clock: publish ``/clock`` with the bag time.
        clock_hz: ``/clock`` rate (in bag time) between messages.
        graph: a params YAML: also run the snn_ros nodes in this process and collect decisions.
        adapters: adapter nodes to run with ``graph`` (default: by the bag's message types).
        decision_topic: where the readout publishes decisions.
        wait_subscribers_s: wait this long for every topic to have a subscriber first.
        settle_s: with ``graph``: after the last message, wait until the graph is idle this
            long (decisions and core input counts no longer change).
        progress: show a tqdm progress bar.
        lockstep: with ``graph``: publish a message only when the graph has finished the
            previous one (never earlier than its bag time allows). Then nothing is dropped or
            reordered however slow the machine, and the decisions equal the offline replay's.
        on_decision: with ``graph``: called ``(stamp_ns, class_index, spike_counts)`` per
            decision (executor thread).
        on_status: with ``graph``: called ``(LearningStatus, wall_s)`` per status message.
        hooks: with ``graph``: ``{'start': f(nodes), 'end': f(nodes)}`` called with the graph
            nodes before the first message and after the graph settled.
        domain_args: extra ``--ros-args`` for the context (tests).

    Returns:
        ``{'published': {topic: n}, 'decisions': [(stamp_ns, class, counts)], ...}``.

    Raises:
        ReplayError: bag, topic or type problems (as the offline replay).
    """
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    if rate <= 0:
        raise ReplayError(f'rate must be > 0, got {rate}')
    bag_list = [bags] if isinstance(bags, (str, Path)) else list(bags)
    remap = remap or {}
    readers = [BagReader(b) for b in bag_list]
    for r in readers:
        r.open()
    try:
        selected = [r.check_topics(topics if topics is None else
                                   [t for t in topics if t in r.info.topics] or topics)
                    for r in readers]
        types: dict[str, str] = {}
        for r, sel in zip(readers, selected):
            for t in sel:
                types[t] = r.info.topics[t]
        classes = {t: message_class(m) for t, m in types.items()}

        ctx = rclpy.Context()
        rclpy.init(context=ctx, args=['snn_ros_play', '--ros-args'] + (domain_args or []))
        nodes: list[Any] = []
        executor = SingleThreadedExecutor(context=ctx)
        spin_thread = None
        collector = None
        try:
            player = Node('snn_ros_player', context=ctx)
            nodes.append(player)
            qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
            pubs = {}
            for t, cls in classes.items():
                pubs[t] = player.create_publisher(cls, remap.get(t, t),
                                                  qos_for(t, types[t], qos))
            clock_pub = None
            if clock:
                from rosgraph_msgs.msg import Clock
                clock_pub = player.create_publisher(Clock, '/clock', 10)
            graph_nodes: list[Any] = []
            if graph is not None:
                graph_nodes = _start_graph(ctx, graph, adapters, types, remap, clock)
                nodes.extend(graph_nodes)
                collector = _Collector(player, decision_topic, on_decision, on_status)
            for n in nodes:
                executor.add_node(n)
            spin_thread = threading.Thread(target=_spin, args=(executor, ctx), daemon=True)
            spin_thread.start()
            _wait_matched(pubs, graph_nodes, wait_subscribers_s)
            hooks = hooks or {}
            if graph_nodes and 'start' in hooks:
                hooks['start'](graph_nodes)
            gate = _Lockstep(graph_nodes, types, remap) if (lockstep and graph_nodes) else None
            published = _publish_all(readers, selected, pubs, clock_pub, rate, clock_hz,
                                     progress, gate)
            result: dict[str, Any] = {'published': published,
                                      'bags': [str(b) for b in bag_list],
                                      'truncated': [r.info.truncated for r in readers],
                                      'warnings': [w for r in readers for w in r.info.warnings],
                                      'rate': rate}
            if graph_nodes:
                _settle(graph_nodes, collector, settle_s)
                if 'end' in hooks:
                    hooks['end'](graph_nodes)
                result['decisions'] = list(collector.decisions)
                result['nodes'] = {n.get_name(): _counters(n) for n in graph_nodes}
            return result
        finally:
            executor.shutdown(timeout_sec=1.0)
            if spin_thread is not None:
                spin_thread.join(timeout=2.0)
            for n in reversed(nodes):
                try:
                    n.destroy_node()
                except Exception:  # noqa: BLE001 - shutting down anyway
                    pass
            rclpy.try_shutdown(context=ctx)
    finally:
        for r in readers:
            r.close()


def qos_for(topic: str, msgtype: str, reliable: Any) -> Any:
    """Return the publishing QoS: reliable, depth 100 for every topic.

    A reliable publisher also matches the best-effort (sensor data QoS) subscriptions of the
    adapter nodes, and keeps every message toward reliable ones (labels, teaching topics).
    """
    return reliable


def _spin(executor: Any, ctx: Any) -> None:
    try:
        while ctx.ok():
            executor.spin_once(timeout_sec=0.05)
    except Exception:  # noqa: BLE001 - the executor was shut down under us
        pass


def _start_graph(ctx: Any, params: str | Path, adapters: list[str] | None,
                 types: dict[str, str], remap: dict[str, str], sim_time: bool) -> list[Any]:
    from snn_ros.nodes import composed
    from snn_ros.replay import ADAPTERS

    p = Path(params)
    if not p.is_file():
        raise ReplayError(f'params file not found: {p}')
    if adapters is None:
        adapters = sorted({ADAPTERS[m][0] for m in types.values() if m in ADAPTERS})
    args = ['--ros-args', '--params-file', str(p)]
    if sim_time:
        args += ['-p', 'use_sim_time:=true']
    kwargs = {name: {'context': ctx, 'cli_args': args}
              for name in list(adapters) + ['snn_core', 'readout']}
    return composed.build_nodes(adapters, node_kwargs=kwargs)


def _wait_matched(pubs: dict[str, Any], graph_nodes: list[Any], timeout_s: float) -> None:
    """Wait until every publisher (and the graph's internal topics) has a subscriber."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ok = all(p.get_subscription_count() > 0 for p in pubs.values())
        for n in graph_nodes:
            for pub in getattr(n, 'publishers', []):
                name = pub.topic_name
                if name.endswith(('/spikes', '/readout_spikes')) and not name.endswith(
                        'hidden_spikes'):
                    ok = ok and pub.get_subscription_count() > 0
        if ok:
            return
        time.sleep(0.02)


def _publish_all(readers: list[BagReader], selected: list[list[str]], pubs: dict[str, Any],
                 clock_pub: Any, rate: float, clock_hz: float, progress: bool,
                 gate: Any = None) -> dict[str, int]:
    from rosgraph_msgs.msg import Clock

    counts = {t: 0 for t in pubs}
    pbar = None
    if progress:
        from tqdm import tqdm
        pbar = tqdm(total=sum(r.info.counts.get(t, 0) for r, s in zip(readers, selected)
                              for t in s), unit='msg', desc='play', leave=False)
    clock_step = int(NS_PER_S / clock_hz) if clock_hz > 0 else 0

    def send_clock(t_ns: int) -> None:
        if clock_pub is not None:
            c = Clock()
            c.clock.sec, c.clock.nanosec = t_ns // NS_PER_S, t_ns % NS_PER_S
            clock_pub.publish(c)

    try:
        for r, sel in zip(readers, selected):
            wall0 = None
            bag0 = 0
            last_clock = None
            for topic, _, t, raw in r.cdr_messages(sel):
                if wall0 is None:
                    wall0, bag0 = time.monotonic(), t
                    send_clock(t)
                    last_clock = t
                # publish /clock in between, then wait until the message is due
                while True:
                    due = wall0 + (t - bag0) / NS_PER_S / rate
                    now = time.monotonic()
                    if clock_pub is not None and clock_step and last_clock is not None \
                            and last_clock + clock_step < t:
                        c_due = wall0 + (last_clock + clock_step - bag0) / NS_PER_S / rate
                        if c_due <= now:
                            last_clock += clock_step
                            send_clock(last_clock)
                            continue
                        time.sleep(min(c_due, due) - now)
                        continue
                    if due > now:
                        time.sleep(due - now)
                    break
                if clock_pub is not None and (last_clock is None or t > last_clock):
                    send_clock(t)
                    last_clock = t
                if gate is not None:
                    gate.before(topic)
                pubs[topic].publish(bytes(raw))
                counts[topic] += 1
                if gate is not None:
                    gate.wait(topic)
                    # the graph may have taken longer than the bag gap: keep the gaps after it
                    late = time.monotonic() - (wall0 + (t - bag0) / NS_PER_S / rate)
                    if late > 0:
                        wall0 += late
                if pbar is not None:
                    pbar.update(1)
    finally:
        if pbar is not None:
            pbar.close()
    return counts


class _Lockstep:
    """Wait until the in-process graph has handled the message just published.

    Done means: the receiving node counted it (adapter ``received`` or core ``labels``),
    every adapter output reached the core (sum of ``published`` = core ``input_messages``)
    and the readout has counted every step the core ran.
    """

    def __init__(self, graph_nodes: list[Any], types: dict[str, str],
                 remap: dict[str, str]) -> None:
        self.adapters = [n for n in graph_nodes if hasattr(n, 'adapter')]
        self.core = next((n for n in graph_nodes if hasattr(n, 'diagnostics_values')), None)
        self.readout = next((n for n in graph_nodes if hasattr(n, 'zero_commands')), None)
        self.by_topic: dict[str, Any] = {}
        for t in types:
            name = remap.get(t, t)
            for n in self.adapters:
                for sub in n.subscriptions:
                    if sub.topic_name == name:
                        self.by_topic[t] = n
            if self.core is not None:
                for sub in self.core.subscriptions:
                    if sub.topic_name == name and name.endswith('/label'):
                        self.by_topic[t] = self.core
        self.expect: dict[int, int] = {}

    def _received(self, node: Any) -> int:
        if node is self.core:
            counts = node.counts
            return int(counts.get('labels', 0)) + int(counts.get('rejected_messages', 0))
        return int(node.adapter.counters.received)

    def before(self, topic: str) -> None:
        """Note the receiving node's count before ``topic``'s message is published."""
        node = self.by_topic.get(topic)
        if node is not None:
            self.expect[id(node)] = self._received(node) + 1

    def wait(self, topic: str, timeout_s: float = 30.0) -> None:
        """Block until the message is handled (or ``timeout_s`` passed)."""
        node = self.by_topic.get(topic)
        if node is None or self.core is None:
            return
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._received(node) >= self.expect[id(node)] and self._idle():
                return
            time.sleep(0.0005)

    def _idle(self) -> bool:
        published = sum(int(n.published) for n in self.adapters)
        core = self.core.counts
        if published != int(core.get('input_messages', 0)):
            return False
        if self.readout is None:
            return True
        window = int(self.readout.params.config.window_steps)
        counted = int(self.readout.decisions) * window + int(self.readout.runtime.steps)
        return counted >= int(core.get('steps', 0))


def _counters(node: Any) -> dict[str, int]:
    if hasattr(node, 'diagnostics_values'):
        return dict(node.diagnostics_values())
    if hasattr(node, 'counters'):
        c = node.counters
        return dict(c() if callable(c) else c)
    return {}


def _settle(graph_nodes: list[Any], collector: Any, settle_s: float) -> None:
    """Wait until the graph has processed everything (counts stable for ``settle_s``)."""
    def snapshot() -> tuple:
        vals = []
        for n in graph_nodes:
            c = _counters(n)
            vals.append(tuple(sorted((k, v) for k, v in c.items()
                                     if not k.startswith('zero') and k != 'stale')))
        return (len(collector.decisions), tuple(vals))

    last = snapshot()
    stable_since = time.monotonic()
    deadline = time.monotonic() + 120.0
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = snapshot()
        if now != last:
            last, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= settle_s:
            return
