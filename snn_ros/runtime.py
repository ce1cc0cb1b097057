"""The SNN core and readout nodes' logic without ROS: one implementation for live and replay.

``SnnCoreNode`` and ``ReadoutNode`` (:mod:`snn_ros.nodes`) are thin wrappers: they turn
messages into arrays, call :class:`CoreRuntime` / :class:`ReadoutRuntime` and publish what
comes back. The offline replay (:mod:`snn_ros.replay`) calls the very same classes, so offline
and live decisions agree by construction (``test/test_replay_live.py`` checks it end to end).

This module also holds the node-level config dataclasses (:class:`CoreNodeConfig`,
:class:`ReadoutNodeConfig` and their groups). Their fields carry the parameter metadata
(description, range, read_only) that :class:`snn_ros.nodes.params.ParameterBinding` turns
into declared ROS parameters. Imports ``snn_ros.core`` only, never rclpy or message packages.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from snn_ros.core.config import NetworkConfig
from snn_ros.core.errors import InputError
from snn_ros.core.network import decide, Network
from snn_ros.core.params import param_field as _p

__all__ = ['ControlConfig', 'CoreNodeConfig', 'CoreRuntime', 'HiddenConfig', 'InputsConfig',
           'ReadoutDecision', 'ReadoutNodeConfig', 'ReadoutRuntime', 'StepOutput',
           'WatchdogConfig', 'warm_up']

#: ``on_reject(reason, message)``: called for every rejected input (counted by the runtime)
RejectHook = Callable[[str, str], None]
#: the counters :meth:`CoreRuntime.counters` reports, in order
CORE_COUNTERS = ('input_messages', 'input_spikes', 'dropped_input_spikes', 'dropped_steps',
                 'rejected_messages', 'steps', 'windows', 'labels', 'teach_events', 'rewards',
                 'errors', 'checkpoints_saved')
MAX_STEPS_PER_MESSAGE = 1_000_000


def _group(cls: type) -> Any:
    return field(default_factory=cls, metadata={'group': True})


# ----------------------------------------------------------------------------- core node config


@dataclass(frozen=True)
class InputsConfig:
    """Spike input topics and where they land in the network's input channels."""

    topics: tuple[str, ...] = _p(('event_camera/spikes',), 'SpikeEvents topics to subscribe',
                                 read_only=True)
    offsets: tuple[int, ...] = _p((0,), 'first input channel of each topic', read_only=True)
    sizes: tuple[int, ...] = _p((0,), 'expected population_size of each topic (0 = any that '
                                'fits)', read_only=True)
    max_queue_steps: int = _p(2000, 'timer mode: steps buffered per input before the oldest '
                              'are dropped (counted)', 1, 10_000_000, read_only=True)

    def __post_init__(self) -> None:
        """Check that topics, offsets and sizes line up."""
        n = len(self.topics)
        if n == 0 or len(self.offsets) != n or len(self.sizes) != n:
            raise ValueError(f'inputs.topics, inputs.offsets and inputs.sizes need the same '
                             f'non-zero length, got {n}, {len(self.offsets)}, '
                             f'{len(self.sizes)}')
        if any(o < 0 for o in self.offsets) or any(s < 0 for s in self.sizes):
            raise ValueError('inputs.offsets and inputs.sizes must be >= 0')


@dataclass(frozen=True)
class HiddenConfig:
    """Optional publication of hidden-layer spikes (for monitoring)."""

    publish: bool = _p(False, 'publish hidden spikes on ~/hidden_spikes')
    max_rate_hz: float = _p(10.0, 'at most this many hidden-spike messages per second',
                            0.001, 1000.0)


@dataclass(frozen=True)
class RasterConfig:
    """Optional live spike raster image (hidden layers above the readout) for RViz/Foxglove."""

    publish: bool = _p(False, 'publish a mono8 spike raster image on ~/raster', read_only=True)
    period_s: float = _p(0.5, 'raster image period', 0.01, 3600.0, read_only=True)
    width_steps: int = _p(200, 'image width: the latest this many steps, newest on the right',
                          8, 10000, read_only=True)
    max_rows: int = _p(256, 'hidden neurons are binned into at most this many rows', 8, 4096,
                       read_only=True)


class SpikeRaster:
    """Rolling image of the latest steps: hidden neurons (binned) above the readout.

    Rows ``[0, n_hidden_rows)`` hold the hidden layers (neuron ``i`` in row
    ``i * n_hidden_rows // n_hidden``), one grey separator row follows, then one row per
    readout neuron (at most 64, binned likewise). A spike sets its pixel to 255.
    """

    def __init__(self, n_hidden: int, n_readout: int, width_steps: int, max_rows: int) -> None:
        self.n_hidden, self.n_readout = int(n_hidden), int(n_readout)
        self.hidden_rows = min(self.n_hidden, int(max_rows))
        self.readout_rows = min(self.n_readout, 64)
        rows = self.hidden_rows + 1 + self.readout_rows
        self.buf = np.zeros((rows, int(width_steps)), np.uint8)
        self.buf[self.hidden_rows, :] = 96
        self.head = 0  # column of the next step

    def add(self, out: StepOutput) -> None:
        """Append the steps of one stepped batch (needs its hidden spikes)."""
        width = self.buf.shape[1]
        n = out.n_steps
        cols = (self.head + np.arange(n)) % width
        self.buf[:self.hidden_rows, cols[-width:]] = 0
        self.buf[self.hidden_rows + 1:, cols[-width:]] = 0
        first = n - width  # a batch longer than the image keeps only its last steps
        if out.hidden_indices is not None:
            self._draw(out.hidden_indices, out.hidden_offsets, first, cols, 0,
                       self.hidden_rows, self.n_hidden)
        self._draw(out.readout_indices, out.readout_offsets, first, cols,
                   self.hidden_rows + 1, self.readout_rows, self.n_readout)
        self.head = int((self.head + n) % width)

    def _draw(self, idx: np.ndarray, off: np.ndarray, first: int, cols: np.ndarray,
              row0: int, n_rows: int, n: int) -> None:
        keep = off.astype(np.int64) >= first
        self.buf[row0 + idx[keep] * n_rows // n, cols[off[keep].astype(np.int64)]] = 255

    def image(self) -> np.ndarray:
        """Return the raster with the newest step in the last column (a new array)."""
        return np.roll(self.buf, -self.head, axis=1)


@dataclass(frozen=True)
class CoreNodeConfig:
    """Settings of the SNN core node itself (the network's own come from NetworkConfig)."""

    seed: int = _p(0, 'seed of the network (wiring, feedback matrices)', 0, (1 << 63) - 1,
                   read_only=True)
    mode: str = _p('timer', "'timer': step at dt on the node clock (use_sim_time honoured); "
                   "'data': step exactly the steps each SpikeEvents covers (replay, tests); "
                   "'sync': step each input step once every input has delivered it, inputs "
                   'joined by stamp (lockstep simulation: the data drives the network)',
                   read_only=True, choices=('timer', 'data', 'sync'))
    steps_per_tick: int = _p(1, 'timer mode: steps per timer tick (tick period = dt_s * this)',
                             1, 100000, read_only=True)
    reward_steps: int = _p(0, "'data' and 'sync' modes: each reward runs this many input-free "
                           "steps at once (the last decision's eligibility consolidated under "
                           'it), then clears the modulation and restarts the decision window; '
                           'their readout spikes are not published. 0: a reward acts until the '
                           'current window ends', 0, 100000, read_only=True)
    silent_label: int = _p(-1, 'the class a reward credits after a decision window without '
                           "readout spikes (the readout's control.silent_class); -1: none",
                           -1, 9999, read_only=True)
    inputs: InputsConfig = _group(InputsConfig)
    hidden: HiddenConfig = _group(HiddenConfig)
    raster: RasterConfig = _group(RasterConfig)
    status_period_s: float = _p(1.0, 'period of ~/status and /diagnostics', 0.01, 3600.0,
                                read_only=True)
    checkpoint: str = _p('', 'checkpoint .npz: loaded at start when it exists, the default '
                         'path of the save/load services, saved periodically and on shutdown',
                         read_only=True)
    checkpoint_period_s: float = _p(0.0, 'save the checkpoint this often (0 = only on '
                                    'shutdown and on request)', 0.0, 1e9, read_only=True)
    save_on_shutdown: bool = _p(True, 'save the checkpoint when the node shuts down',
                                read_only=True)
    warmup: bool = _p(True, 'compile the numba kernels at start-up (a throwaway network)',
                      read_only=True)
    error_log_period_s: float = _p(5.0, 'log each kind of rejected input at most once per '
                                   'this period (all are counted)', 0.0, 3600.0)

    def __post_init__(self) -> None:
        """Check the option strings."""
        if self.mode not in ('timer', 'data', 'sync'):
            raise ValueError(f"mode: {self.mode!r} is not one of ['timer', 'data', 'sync']")


# ----------------------------------------------------------------------------- readout config


@dataclass(frozen=True)
class ControlConfig:
    """Decision -> velocity command: a class table or a population code, limits, smoothing."""

    mode: str = _p('table', "'table': per-class command from table_linear_x/table_angular_z; "
                   "'population': classes are preferred angular rates spread over "
                   '[-1, 1] (spike-count weighted mean), linear = gain_linear * confidence',
                   read_only=True, choices=('table', 'population'))
    table_linear_x: tuple[float, ...] = _p((), 'linear.x per class (m/s, before gain); empty '
                                           '= 0', item_type=float)
    table_angular_z: tuple[float, ...] = _p((), 'angular.z per class (rad/s, before gain); '
                                            'empty = 0', item_type=float)
    gain_linear: float = _p(1.0, 'gain on linear.x', -100.0, 100.0)
    gain_angular: float = _p(1.0, 'gain on angular.z', -100.0, 100.0)
    max_linear: float = _p(0.5, 'limit of |linear.x| (m/s)', 0.0, 100.0)
    max_angular: float = _p(1.0, 'limit of |angular.z| (rad/s)', 0.0, 100.0)
    smoothing: float = _p(0.0, 'exponential smoothing: out = s * previous + (1 - s) * target',
                          0.0, 0.99)
    min_confidence: float = _p(0.0, 'below this decision confidence the command is zero',
                               0.0, 1.0)
    silent_class: int = _p(-1, 'table mode: a window without readout spikes commands this '
                           "class's entry (the core's silent_label credits it); -1: zero",
                           -1, 9999)

    def __post_init__(self) -> None:
        """Check the option string."""
        if self.mode not in ('table', 'population'):
            raise ValueError(f'control.mode: {self.mode!r} is not one of '
                             "['table', 'population']")


@dataclass(frozen=True)
class WatchdogConfig:
    """Zero command when the readout input goes stale."""

    deadline_s: float = _p(0.5, 'publish a zero command when no readout spikes arrived for '
                           'this long (node clock, so sim time when use_sim_time)', 0.001, 3600.0)
    period_s: float = _p(0.05, 'watchdog check period', 0.001, 60.0, read_only=True)


@dataclass(frozen=True)
class ReadoutNodeConfig:
    """Decision window, class names and the command mapping."""

    n_classes: int = _p(10, 'number of classes; readout neuron i belongs to class '
                        'i // (population_size / n_classes)', 2, 10000, read_only=True)
    class_names: tuple[str, ...] = _p((), "class names (Decision.class_name); empty = ''",
                                      read_only=True, item_type=str)
    window_steps: int = _p(100, 'steps of readout spikes per decision', 1, 1 << 30)
    control: ControlConfig = _group(ControlConfig)
    watchdog: WatchdogConfig = _group(WatchdogConfig)
    error_log_period_s: float = _p(5.0, 'log each kind of rejected input at most once per '
                                   'this period (all are counted)', 0.0, 3600.0)
    diagnostics_period_s: float = _p(1.0, 'period of the counters on /diagnostics', 0.05,
                                     3600.0, read_only=True)

    def __post_init__(self) -> None:
        """Check table and name lengths against ``n_classes``."""
        if self.control.silent_class >= self.n_classes:
            raise ValueError(f'control.silent_class: {self.control.silent_class} >= '
                             f'n_classes {self.n_classes}')
        for name in ('table_linear_x', 'table_angular_z'):
            n = len(getattr(self.control, name))
            if n not in (0, self.n_classes):
                raise ValueError(f'control.{name}: {n} values for {self.n_classes} classes')
        if len(self.class_names) not in (0, self.n_classes):
            raise ValueError(f'class_names: {len(self.class_names)} names for '
                             f'{self.n_classes} classes')


# ----------------------------------------------------------------------------- core runtime


def warm_up(config: NetworkConfig) -> None:
    """Compile every kernel the core uses on a tiny network with the same options."""
    tiny = NetworkConfig.from_dict({
        'dt_s': config.dt_s, 'n_inputs': 8, 'neuron': config.neuron.__dict__,
        'layers': dict(config.layers.__dict__, n_layers=1, n_hidden=8, block_size=8,
                       input_width=2 if config.layers.input_width else 0,
                       input_height=2 if config.layers.input_width else 0),
        'readout': dict(config.readout.__dict__, n_classes=2, pop_size=1, window_steps=5),
        'modulation': dict(config.modulation.__dict__, n_populations=2, fan_in=1),
        'teaching': config.teaching.__dict__,
        'plasticity': dict(config.plasticity.__dict__, learning=True)})
    net = Network(tiny, 0)
    for k in range(6):
        net.run_batch(np.arange(8, dtype=np.uint32), np.zeros(8, np.uint32), 2)
        net.teach(k % 2)
        net.reward(0.5)
        net.error(np.array([0.1, -0.1]))
        net.decision()
        net.reset_window()
    net.stats()


def _cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype)


@dataclass
class StepOutput:
    """What one stepped batch produced: readout (and optional hidden) spikes, per step."""

    readout_indices: np.ndarray
    readout_offsets: np.ndarray
    n_steps: int
    t0_ns: int
    hidden_indices: np.ndarray | None = None
    hidden_offsets: np.ndarray | None = None


class CoreRuntime:
    """What the SNN core node does with its inputs, teaching signals and decision windows.

    One call per ``SpikeEvents`` message (:meth:`on_spikes`), per timer tick (:meth:`tick`,
    timer mode) and per ``~/label``, ``~/reward`` or ``~/error`` message. Teaching acts at
    decision-window ends (``readout.window_steps``): the window's counts and the latest label
    give the margin-WTA error that gates plasticity during the next window; a reward or an
    explicit error acts at once and lasts until the window ends.

    Not thread-safe: the node serialises calls (one mutually exclusive callback group plus a
    lock for services and parameter callbacks).

    Args:
        net: the network (replaceable: assign ``runtime.net`` after loading a checkpoint).
        config: the node's settings (inputs, mode, queue length); None for the defaults.
        on_reject: called with ``(reason, message)`` for every rejected input.
        on_step: called with the network after every step (replay statistics).
    """

    def __init__(self, net: Network, config: CoreNodeConfig | None = None, *,
                 on_reject: RejectHook | None = None,
                 on_step: Callable[[Network], None] | None = None) -> None:
        self.net = net
        self.config = config or CoreNodeConfig()
        self.dt_ns = int(round(net.config.dt_s * 1e9))
        self.on_reject = on_reject
        self.on_step = on_step
        self.counts: Counter = Counter()
        self.label = -1
        self.last_decision = -1
        self._pending_clear = False
        n = len(self.config.inputs.topics)
        self._queues: list[deque] = [deque() for _ in range(n)]
        self._next_ns: list[int | None] = [None] * n

    # ------------------------------------------------------------------ input
    def reject(self, reason: str, message: str) -> None:
        """Count a rejected input and report it to ``on_reject``."""
        self.counts['rejected_messages'] += 1
        if self.on_reject is not None:
            self.on_reject(reason, message)

    def check(self, indices: Any, step_offsets: Any, n_steps: int, population_size: int,
              dt_ns: int, k: int) -> tuple[Any, str | None]:
        """Validate one message of input ``k``.

        Returns:
            ``((channel indices, step offsets, n_steps), None)`` with the input's channel
            offset added, or ``(message, reason)`` when the input is rejected.
        """
        offset = self.config.inputs.offsets[k]
        size = self.config.inputs.sizes[k]
        n_inputs = self.net.config.n_inputs
        pop = int(population_size)
        if size and pop != size:
            return f'population_size {pop}, expected {size}', 'population_size'
        if pop == 0 or offset + pop > n_inputs:
            return (f'population_size {pop} at offset {offset} exceeds the {n_inputs} input '
                    'channels', 'population_size')
        if int(dt_ns) != self.dt_ns:
            return f'dt_ns {dt_ns}, the network steps {self.dt_ns} ns', 'dt_mismatch'
        n_steps = int(n_steps)
        idx = np.asarray(indices, np.uint32)
        off = np.asarray(step_offsets, np.uint32)
        if idx.size != off.size:
            return f'{idx.size} indices but {off.size} step_offsets', 'shape'
        if n_steps > MAX_STEPS_PER_MESSAGE:
            return f'n_steps {n_steps} above 1e6', 'n_steps'
        if idx.size:
            if int(idx.max()) >= pop:
                return f'index {int(idx.max())} >= population_size {pop}', 'out_of_range'
            if int(off.max()) >= n_steps or np.any(np.diff(off.astype(np.int64)) < 0):
                return 'step_offsets not non-decreasing in [0, n_steps)', 'step_offsets'
        return (idx.astype(np.int64) + offset, off, n_steps), None

    def on_spikes(self, k: int, indices: Any, step_offsets: Any, n_steps: int,
                  population_size: int, dt_ns: int, t0_ns: int, *, hidden: bool = False
                  ) -> StepOutput | None:
        """Take one ``SpikeEvents`` of input ``k``: step it (data), queue it (timer, sync).

        Sync mode then runs the steps every input has delivered (:meth:`drain`).

        Args:
            k: input index (position in ``inputs.topics``).
            indices, step_offsets, n_steps, population_size, dt_ns: the message's fields.
            t0_ns: its stamp (clamped to >= 0, as a ROS stamp).
            hidden: also return the hidden-layer spikes.

        Returns:
            The readout (and hidden) spikes of the steps run (data, sync mode), else None.
        """
        self.counts['input_messages'] += 1
        checked, reason = self.check(indices, step_offsets, n_steps, population_size, dt_ns, k)
        if reason is not None:
            self.counts['dropped_input_spikes'] += int(np.asarray(indices).size)
            self.reject(reason, f'SpikeEvents on input {k}: {checked}')
            return None
        idx, off, n_steps = checked
        self.counts['input_spikes'] += int(idx.size)
        t0 = max(0, int(t0_ns))
        if self.config.mode == 'data':
            idx, off, n_steps, t0 = self.trim_overlap(k, idx, off, n_steps, t0)
            out = self.run(idx, off, n_steps, t0, hidden=hidden)
            self._next_ns[k] = t0 + n_steps * self.dt_ns
            return out
        self.enqueue(k, idx, off, n_steps, t0)
        return self.drain(hidden=hidden) if self.config.mode == 'sync' else None

    def enqueue(self, k: int, idx: np.ndarray, off: np.ndarray, n_steps: int, t0: int) -> None:
        """Queue the steps of one message of input ``k`` (timer and sync modes)."""
        queue = self._queues[k]
        bounds = np.searchsorted(off, np.arange(n_steps + 1))
        for s in range(n_steps):
            queue.append((idx[bounds[s]:bounds[s + 1]], t0 + s * self.dt_ns))
        excess = len(queue) - self.config.inputs.max_queue_steps
        for _ in range(max(0, excess)):
            dropped, _ = queue.popleft()
            self.counts['dropped_input_spikes'] += int(dropped.size)
            self.counts['dropped_steps'] += 1

    def drain(self, *, hidden: bool = False) -> StepOutput | None:
        """Sync mode: run, in stamp order, every step that all inputs have delivered.

        The earliest queued stamp runs once every input has queued a step at or after it; the
        inputs whose oldest queued step has that stamp contribute their spikes (a stream that
        moved past it had none). The steps run back to back, stamped with the first one's time.

        Returns:
            The readout (and hidden) spikes of the steps run, or None when none could run.
        """
        queues = self._queues
        steps, t0 = [], None
        while all(queues):
            t = min(q[0][1] for q in queues)
            steps.append(_cat([q.popleft()[0] for q in queues if q[0][1] == t], np.int64))
            t0 = t if t0 is None else t0
        if t0 is None:
            return None
        sizes = np.array([s.size for s in steps])
        off = np.repeat(np.arange(len(steps), dtype=np.uint32), sizes)
        return self.run(_cat(steps, np.int64), off, len(steps), t0, hidden=hidden)

    def trim_overlap(self, k: int, idx: np.ndarray, off: np.ndarray, n_steps: int,
                     t0: int) -> tuple[np.ndarray, np.ndarray, int, int]:
        """Drop steps input ``k`` already ran (data mode) when consecutive messages share one.

        Adapters bin each packet from its first to its last event's step, so two packets cut
        inside one step both cover it. Steps already run are dropped from the new message and
        their spikes moved to its first new step (one step late rather than stepped twice).
        """
        nxt = self._next_ns[k]
        if nxt is None or t0 >= nxt:
            return idx, off, n_steps, t0
        done = min(n_steps, -(-(nxt - t0) // self.dt_ns))
        left = max(n_steps - done, 1 if idx.size else 0)
        off = np.minimum(np.maximum(off.astype(np.int64) - done, 0), max(left - 1, 0))
        return idx, off.astype(np.uint32), left, nxt

    def tick(self, now_ns: int, *, hidden: bool = False) -> StepOutput | None:
        """Timer mode: run ``steps_per_tick`` steps from the queued inputs (empty if none).

        The batch is stamped with its first queued step's time, else with ``now_ns``.
        """
        n = self.config.steps_per_tick
        steps, t0 = [], None
        for _ in range(n):
            parts = []
            for queue in self._queues:
                if queue:
                    idx, t = queue.popleft()
                    parts.append(idx)
                    t0 = t if t0 is None else t0
            steps.append(np.concatenate(parts) if parts else np.zeros(0, np.int64))
        if t0 is None:
            t0 = int(now_ns)
        sizes = np.array([s.size for s in steps])
        idx = np.concatenate(steps) if sizes.sum() else np.zeros(0, np.int64)
        off = np.repeat(np.arange(n, dtype=np.uint32), sizes)
        return self.run(idx, off, n, t0, hidden=hidden)

    def clear_queues(self) -> None:
        """Drop the queued input steps (timer mode)."""
        for q in self._queues:
            q.clear()

    # ------------------------------------------------------------------ stepping
    def run(self, idx: np.ndarray, off: np.ndarray, n_steps: int, t0_ns: int, *,
            hidden: bool = False) -> StepOutput | None:
        """Step ``n_steps`` steps, ending decision windows (teaching) where they fall.

        Returns:
            The readout (and hidden) spikes per step, or None when nothing was stepped.
        """
        if n_steps == 0:
            return None
        try:
            parts = self._run_pieces(idx, off, n_steps, hidden)
        except InputError as err:  # checked above; a last line of defence
            self.reject('input', str(err))
            return None
        self.counts['steps'] += n_steps
        out = StepOutput(_cat(parts[0], np.int64), _cat(parts[1], np.uint32), n_steps, t0_ns)
        if hidden:
            out.hidden_indices = _cat(parts[2], np.int64)
            out.hidden_offsets = _cat(parts[3], np.uint32)
        return out

    def _run_pieces(self, idx: np.ndarray, off: np.ndarray, n_steps: int, hidden: bool
                    ) -> tuple[list[np.ndarray], ...]:
        """Step in one ``Network.run_flat`` call per piece of a decision window.

        With ``on_step`` (replay statistics) every piece is one step, followed by the call.
        """
        net = self.net
        window = net.config.readout.window_steps
        bounds = np.searchsorted(off, np.arange(n_steps + 1))
        parts: tuple[list[np.ndarray], ...] = ([], [], [], [])
        s = 0
        while s < n_steps:
            n = 1 if self.on_step is not None else \
                min(n_steps - s, max(window - net.window_steps, 1))
            lo, hi = bounds[s], bounds[s + n]
            res = net.run_flat(idx[lo:hi], off[lo:hi].astype(np.int64) - s, n, hidden=hidden)
            for k, (x, step) in enumerate(((res[0], res[1]), (res[2], res[3]))):
                parts[2 * k].append(x)
                parts[2 * k + 1].append((step + s).astype(np.uint32))
            s += n
            if self.on_step is not None:
                self.on_step(net)
            if net.window_steps >= window:
                self.end_window()
        return parts

    def end_window(self) -> None:
        """End the decision window: teach the latest label (or clear a finished signal)."""
        net = self.net
        self.last_decision = net.decision().label
        if self.label >= 0:
            net.teach(self.label)
            self.counts['teach_events'] += 1
        elif self._pending_clear:
            net.error(np.zeros(net.n_classes))
        self._pending_clear = False
        net.reset_window()
        self.counts['windows'] += 1

    # ------------------------------------------------------------------ teaching
    def on_label(self, label: int) -> bool:
        """Take a ``~/label`` value (-1 stops teaching); False (rejected) when out of range."""
        label = int(label)
        n_classes = self.net.config.readout.n_classes
        if label < -1 or label >= n_classes:
            self.reject('bad_label', f'label {label} outside [-1, {n_classes})')
            return False
        if label < 0 and self.label >= 0:
            self._pending_clear = True
        self.label = label
        self.counts['labels'] += 1
        return True

    def on_reward(self, reward: float) -> bool:
        """Take a ``~/reward`` value; False (rejected) when not finite.

        With ``reward_steps`` (data, sync modes) the reward is consolidated at once
        (:meth:`consolidate`); else it acts until the current window ends.
        """
        silent = self.config.silent_label
        label = silent if silent >= 0 and self.last_decision < 0 else None
        try:
            self.net.reward(float(reward), label)
        except InputError as err:
            self.reject('bad_reward', str(err))
            return False
        self.counts['rewards'] += 1
        if self.config.reward_steps and self.config.mode != 'timer':
            self.consolidate(self.config.reward_steps)
        else:
            self._pending_clear = True
        return True

    def consolidate(self, n_steps: int) -> None:
        """Run ``n_steps`` input-free steps under the current modulation, then clear it.

        The eligibility of the last decision window turns into weight changes while it decays;
        then the modulation is cleared and a new decision window starts (the readout spikes
        of these steps belong to no decision and are not returned).
        """
        net = self.net
        empty = np.zeros(0, np.int64)
        for _ in range(int(n_steps)):
            net.step(empty)
            if self.on_step is not None:
                self.on_step(net)
        self.counts['steps'] += int(n_steps)
        net.error(np.zeros(net.n_classes))
        net.reset_window()
        self._pending_clear = False

    def on_error(self, vector: Any) -> bool:
        """Take a ``~/error`` vector (one value per class); False (rejected) when invalid."""
        try:
            self.net.error(np.asarray(vector, dtype=np.float64))
        except InputError as err:
            self.reject('bad_error', str(err))
            return False
        self._pending_clear = True
        self.counts['errors'] += 1
        return True

    def counters(self) -> dict[str, int]:
        """Return every counter of :data:`CORE_COUNTERS` (zero when never counted)."""
        return {k: int(self.counts.get(k, 0)) for k in CORE_COUNTERS}


# ----------------------------------------------------------------------------- readout runtime


@dataclass(frozen=True)
class ReadoutDecision:
    """One readout decision (the fields of ``snn_ros/Decision``) and the command it gave."""

    stamp_ns: int
    class_index: int
    class_name: str
    spike_counts: list[int]
    margin: float
    confidence: float
    window_steps: int
    command: tuple[float, float]


class ReadoutRuntime:
    """What the readout node does: readout spikes -> per-window decisions -> commands.

    Windows count steps, not wall time, so replay is deterministic. A window without any
    readout spike decides class -1 and commands zero.

    Args:
        config: the node's settings (window, class names, command mapping); may be replaced
            at run time (``runtime.config = ...``) for live parameter updates.
        on_reject: called with ``(reason, message)`` for every rejected input.
    """

    def __init__(self, config: ReadoutNodeConfig | None = None, *,
                 on_reject: RejectHook | None = None) -> None:
        self.config = config or ReadoutNodeConfig()
        self.on_reject = on_reject
        self.n_classes = self.config.n_classes
        self.counts = np.zeros(self.n_classes, np.int64)
        self.steps = 0
        self.command = np.zeros(2)
        self.decisions = 0
        self.rejected = 0
        self.zero_commands = 0
        self.stale = True
        self._last_input_ns: int | None = None

    def check(self, indices: Any, step_offsets: Any, n_steps: int, population_size: int
              ) -> tuple[str, str] | None:
        """Return ``(reason, message)`` when a readout message is unusable, else None."""
        pop = int(population_size)
        idx = np.asarray(indices)
        off = np.asarray(step_offsets)
        if pop == 0 or pop % self.n_classes:
            return 'population_size', (f'population_size {pop} is not a multiple of '
                                       f'n_classes {self.n_classes}')
        if idx.size != off.size or (idx.size and (int(idx.max()) >= pop
                                                  or int(off.max()) >= int(n_steps))):
            return 'shape', 'indices/step_offsets malformed or out of range'
        return None

    def on_spikes(self, indices: Any, step_offsets: Any, n_steps: int, population_size: int,
                  t0_ns: int, dt_ns: int, now_ns: int | None = None) -> list[ReadoutDecision]:
        """Count one readout message; return the decisions it completes (stamped per window).

        Args:
            indices, step_offsets, n_steps, population_size, dt_ns: the message's fields.
            t0_ns: its stamp; a decision is stamped with its window's last step.
            now_ns: receive time on the node clock, for the watchdog (None: not tracked).
        """
        bad = self.check(indices, step_offsets, n_steps, population_size)
        if bad is not None:
            self.rejected += 1
            if self.on_reject is not None:
                self.on_reject(*bad)
            return []
        if now_ns is not None:
            self._last_input_ns = int(now_ns)
        self.stale = False
        idx = np.asarray(indices)
        off = np.asarray(step_offsets)
        n_steps = int(n_steps)
        cls = idx.astype(np.int64) // (int(population_size) // self.n_classes)
        window = self.config.window_steps
        out = []
        s = 0
        while s < n_steps:
            take = min(window - self.steps, n_steps - s)
            lo, hi = np.searchsorted(off, [s, s + take])
            np.add.at(self.counts, cls[lo:hi], 1)
            self.steps += take
            s += take
            if self.steps >= window:
                out.append(self.decide(int(t0_ns) + (s - 1) * int(dt_ns)))
        return out

    def decide(self, stamp_ns: int) -> ReadoutDecision:
        """End the window now: decide, map to a command (limits, smoothing), reset counts."""
        d = decide(self.counts)
        names = self.config.class_names
        z = self.counts
        cmd = self.smooth(self.target(d.label, d.confidence, z))
        out = ReadoutDecision(int(stamp_ns), d.label,
                              names[d.label] if names and d.label >= 0 else '',
                              [int(v) for v in z], d.margin, d.confidence, int(self.steps),
                              cmd)
        self.decisions += 1
        self.counts = np.zeros(self.n_classes, np.int64)
        self.steps = 0
        return out

    def target(self, label: int, confidence: float, counts: np.ndarray) -> np.ndarray:
        """Return the unsmoothed ``(linear_x, angular_z)`` of a decision (zero for -1).

        A silent window (-1) in table mode takes ``control.silent_class``'s entry when set.
        """
        ctl = self.config.control
        if label < 0 and ctl.silent_class >= 0 and ctl.mode == 'table':
            label, confidence = ctl.silent_class, 1.0
        if label < 0 or confidence < ctl.min_confidence:
            return np.zeros(2)
        if ctl.mode == 'table':
            lin = ctl.table_linear_x[label] if ctl.table_linear_x else 0.0
            ang = ctl.table_angular_z[label] if ctl.table_angular_z else 0.0
        else:
            pref = np.linspace(-1.0, 1.0, self.n_classes)
            ang = float(np.dot(counts, pref) / counts.sum())
            lin = float(confidence)
        return np.array([ctl.gain_linear * lin, ctl.gain_angular * ang])

    def smooth(self, target: np.ndarray) -> tuple[float, float]:
        """Smooth ``target`` with the previous command, clip to the limits and keep it."""
        ctl = self.config.control
        s = ctl.smoothing
        cmd = s * self.command + (1.0 - s) * target
        cmd[0] = float(np.clip(cmd[0], -ctl.max_linear, ctl.max_linear))
        cmd[1] = float(np.clip(cmd[1], -ctl.max_angular, ctl.max_angular))
        self.command = cmd
        return float(cmd[0]), float(cmd[1])

    def watchdog(self, now_ns: int) -> tuple[bool, bool]:
        """Check the input deadline; when stale, zero the command (the caller publishes it).

        Returns:
            ``(stale, newly_stale)``: whether a zero command is due, and whether the input
            just went stale (worth one warning).
        """
        deadline_ns = self.config.watchdog.deadline_s * 1e9
        if self._last_input_ns is not None and now_ns - self._last_input_ns < deadline_ns:
            return False, False
        newly = not self.stale
        self.stale = True
        self.command = np.zeros(2)
        self.zero_commands += 1
        return True, newly
