"""The README's main job: event-camera digit classification through the real ROS graph.

Data: scikit-learn's bundled 8x8 digits (installed by setup), upscaled to 28x28 on a 34x34
sensor and shown to the project's image-to-event emulator (:func:`emulate_events`) while the
"camera" makes N-MNIST-like saccades (3 straight moves over a triangle, 100 ms each, 300 ms per
digit). The events are encoded as real ``evt3`` ``event_camera_msgs/EventPacket`` messages
(one packet per saccade) and written, with the teaching labels on ``/snn_core/label``, to an
MCAP bag in the run folder. With ``--data`` real N-MNIST recordings (a folder or
``NMNISTsmall.tar.xz``) are used instead of the emulator.

The bag is then played live into the snn_ros graph composed in this process (event camera
adapter node -> SNN core node learning online from ``~/label`` -> readout node), in lockstep
so that no message is dropped however slow the machine. Training samples carry their label;
test samples carry -1 (no teaching), and each test digit is classified by the readout's
decisions over its 300 ms. Running accuracy is printed on the way; the run folder gets the
report (``summary.json``, figures) and the last line printed is one JSON object with
``accuracy``, ``n_test`` and ``run_dir``.
"""

from __future__ import annotations

from pathlib import Path
import sys
import tarfile
import time
from typing import Any

import numpy as np

from snn_ros.bagio import BagWriter
from snn_ros.report import config_hash, new_run_dir, RunRecorder

NS_PER_MS = 1_000_000
SENSOR = 34
SAMPLE_MS = 300
SACCADE_MS = 100
EVENTS_TOPIC = '/event_camera/events'
LABEL_TOPIC = '/snn_core/label'
T0_NS = 1_000_000_000  # bag time of the first sample

#: demo settings: (train samples, test samples) and the network size per mode
MODES = {
    'default': {'n_train': 800, 'n_test': 200, 'n_hidden': 256, 'n_layers': 1},
    'short': {'n_train': 300, 'n_test': 60, 'n_hidden': 256, 'n_layers': 1},
}
DT_S = 0.002  # 2 ms steps: 150 network steps per 300 ms digit


# ----------------------------------------------------------------------------- data


def digits_dataset(n_train: int, n_test: int, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (train images, train labels, test images, test labels) as 34x34 floats in [0, 1].

    The 8x8 scikit-learn digits are upscaled (bilinear) to 28x28 and centred on the 34x34
    sensor, as MNIST digits are in N-MNIST. Train and test are disjoint, shuffled with
    ``seed``.
    """
    from scipy import ndimage
    from sklearn.datasets import load_digits

    d = load_digits()
    n = d.images.shape[0]
    if n_train + n_test > n:
        raise ValueError(f'the digits dataset has {n} images; asked for {n_train + n_test}')
    order = np.random.default_rng(seed).permutation(n)
    imgs = np.zeros((n, SENSOR, SENSOR))
    for k in range(n):
        up = ndimage.zoom(d.images[k] / 16.0, 28 / 8, order=1)
        imgs[k, 3:31, 3:31] = np.clip(up, 0.0, 1.0)
    tr, te = order[:n_train], order[n_train:n_train + n_test]
    return imgs[tr], d.target[tr].astype(int), imgs[te], d.target[te].astype(int)


def saccade_path(t_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the camera offset (dx, dy) in pixels at ``t_ms`` in [0, 300]: 3 saccades."""
    corners = np.array([[0.0, 0.0], [3.0, 3.0], [6.0, 0.0], [0.0, 0.0]]) - [3.0, 1.0]
    k = np.clip((t_ms // SACCADE_MS).astype(int), 0, 2)
    f = (t_ms - k * SACCADE_MS) / SACCADE_MS
    p = corners[k] + (corners[k + 1] - corners[k]) * f[:, None]
    return p[:, 0], p[:, 1]


def image_events(img: np.ndarray, t0_ns: int, frame_ms: float = 5.0,
                 threshold: float = 0.5) -> tuple[np.ndarray, ...]:
    """Emulate the events of a static image seen during the three saccades.

    Returns:
        ``(x, y, p, t_ns)`` sorted by time, inside ``[t0_ns, t0_ns + 300 ms)``.
    """
    from scipy import ndimage

    from snn_ros.adapters.image import emulate_events

    t_ms = np.arange(0.0, SAMPLE_MS + 1e-9, frame_ms)
    dx, dy = saccade_path(t_ms)
    floor = 0.04
    frames = np.empty((t_ms.size, SENSOR, SENSOR))
    for k in range(t_ms.size):
        frames[k] = ndimage.shift(img, (dy[k], dx[k]), order=1, mode='constant', cval=0.0)
    frames = floor + (1.0 - floor) * np.clip(frames, 0.0, 1.0)
    t_ns = (t0_ns + t_ms * NS_PER_MS).astype(np.int64)
    x, y, p, t = emulate_events(frames, t_ns, threshold)
    t = np.minimum(t, t0_ns + SAMPLE_MS * NS_PER_MS - 1)
    return (np.asarray(x, np.int64), np.asarray(y, np.int64), np.asarray(p, np.int64),
            np.asarray(t, np.int64))


def nmnist_dataset(path: str | Path, n_train: int, n_test: int) -> dict[str, Any]:
    """Load N-MNIST samples (a folder of ``*.bs2``/``*.bin`` or ``NMNISTsmall.tar.xz``).

    The tar is read in one sequential pass and cached as one ``.npz`` under
    ``~/.cache/snn_ros``. Sample lists come from ``train1K.txt``/``test100.txt`` when present
    (else every file, labels from the parent folder name as in the original N-MNIST layout).

    Returns:
        ``{'train': [(x, y, p, t_us, label)], 'test': [...]}``.
    """
    from snn_ros.adapters.event_codecs import decode_nmnist_bs2
    from snn_ros.study import cache_dir

    p = Path(path)
    if p.is_dir() and (p / 'NMNISTsmall.tar.xz').is_file():
        p = p / 'NMNISTsmall.tar.xz'
    if not p.exists():
        raise FileNotFoundError(f'N-MNIST data not found: {p}')
    if p.is_file():
        cache = cache_dir() / f'nmnist-{p.stat().st_size}-{int(p.stat().st_mtime)}.npz'
        if not cache.is_file():
            files: dict[str, bytes] = {}
            with tarfile.open(p) as tf:
                for m in tf:  # one sequential pass
                    if m.isfile():
                        f = tf.extractfile(m)
                        if f is not None:
                            files[Path(m.name).name] = f.read()
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez(cache, **{k: np.frombuffer(v, np.uint8) for k, v in files.items()})
        with np.load(cache) as z:
            files = {k: z[k].tobytes() for k in z.files}
    else:
        files = {}
        for f in sorted(p.rglob('*')):
            if f.suffix in ('.bs2', '.bin', '.txt') and f.is_file():
                key = f.name if f.suffix == '.txt' else f'{f.parent.name}/{f.name}'
                files[key] = f.read_bytes()

    def listing(name: str) -> list[tuple[str, int]]:
        rows = files[name].decode().split('\n')[1:]
        out = []
        for r in rows:
            parts = r.split()
            if len(parts) >= 2:
                out.append((f'{int(parts[0])}.bs2', int(parts[1])))
        return out

    if 'train1K.txt' in files and 'test100.txt' in files:
        train, test = listing('train1K.txt'), listing('test100.txt')
    else:
        keys = sorted(k for k in files if k.endswith(('.bs2', '.bin')))
        samples = [(k, int(k.split('/')[0])) for k in keys if k.split('/')[0].isdigit()]
        rng = np.random.default_rng(0)
        rng.shuffle(samples)
        train, test = samples[:-max(n_test, 1)], samples[-max(n_test, 1):]

    def load(items: list[tuple[str, int]], n: int) -> list[tuple]:
        out = []
        for name, label in items[:n]:
            raw = files.get(name)
            if raw is None:
                continue
            x, y, pol, t = decode_nmnist_bs2(raw)
            keep = (x < SENSOR) & (y < SENSOR)
            out.append((x[keep], y[keep], pol[keep], t[keep], label))
        return out

    return {'train': load(train, n_train), 'test': load(test, n_test)}


# ----------------------------------------------------------------------------- the bag


def write_demo_bag(path: Path, samples: list[tuple[np.ndarray, ...]], labels: list[int],
                   teach: list[bool]) -> list[tuple[int, int]]:
    """Write the demo stream: per sample a label message and three evt3 EventPackets.

    Args:
        samples: per sample ``(x, y, p, t_ns)`` with ``t_ns`` relative to the sample start.
        labels: true class per sample.
        teach: publish the label (True) or -1 (test sample, no teaching).

    Returns:
        Per sample the sensor-time interval ``[start_ns, end_ns)`` of its events.
    """
    from snn_ros.adapters.event_codecs import encode_evt3, new_evt3_encoder_state

    w = BagWriter(path, 'mcap')
    types = w.ts.types
    state = new_evt3_encoder_state()
    spans = []
    seq = 0
    for k, ((x, y, p, t), lab, tch) in enumerate(zip(samples, labels, teach)):
        s0 = k * SAMPLE_MS * NS_PER_MS
        bag_t = T0_NS + s0
        w.write(LABEL_TOPIC, 'std_msgs/msg/Int32', bag_t,
                types['std_msgs/msg/Int32'](data=int(lab) if tch else -1))
        t_abs = t + s0
        for j in range(SAMPLE_MS // SACCADE_MS):
            lo, hi = np.searchsorted(t, [j * SACCADE_MS * NS_PER_MS,
                                         (j + 1) * SACCADE_MS * NS_PER_MS])
            payload = encode_evt3(x[lo:hi], y[lo:hi], p[lo:hi], t_abs[lo:hi], state=state)
            stamp = bag_t + (j + 1) * SACCADE_MS * NS_PER_MS - 1
            msg = types['event_camera_msgs/msg/EventPacket'](
                header=w.header(stamp, 'camera'), height=SENSOR, width=SENSOR, seq=seq,
                time_base=0, encoding='evt3', is_bigendian=False,
                events=np.frombuffer(payload, np.uint8))
            w.write(EVENTS_TOPIC, 'event_camera_msgs/msg/EventPacket', stamp, msg)
            seq += 1
        spans.append((s0, s0 + SAMPLE_MS * NS_PER_MS))
    w.close()
    return spans


def demo_params(n_hidden: int, n_layers: int, seed: int) -> dict[str, Any]:
    """Return the demo's params (keyed by node name) from ``config/event_camera.yaml``.

    The project's event-camera config is the base; the demo sets the sensor grid (34x34, two
    polarities = 2312 inputs), ``mode: data`` (step exactly the input's steps, as in replay),
    a 50-step decision window and a network size that fits the time budget.
    """
    import yaml

    base: dict[str, Any] = {}
    for cand in (Path(__file__).resolve().parent.parent / 'config' / 'event_camera.yaml',
                 Path(sys.prefix) / 'share' / 'snn_ros' / 'config' / 'event_camera.yaml'):
        if cand.is_file():
            base = yaml.safe_load(cand.read_text()) or {}
            break

    def node(name: str) -> dict[str, Any]:
        return base.setdefault(name, {}).setdefault('ros__parameters', {})

    ev = node('event_camera')
    ev.update({'out_width': SENSOR, 'out_height': SENSOR, 'polarity_channels': 2,
               'refractory_ns': 0, 'max_width': 2048, 'max_height': 2048,
               'dt_ns': int(round(DT_S * 1e9)), 'dt_s': DT_S})
    core = node('snn_core')
    core.update({'mode': 'data', 'seed': int(seed), 'warmup': True, 'status_period_s': 0.5,
                 'checkpoint': '', 'checkpoint_period_s': 0.0, 'save_on_shutdown': False,
                 'dt_s': DT_S, 'n_inputs': 2 * SENSOR * SENSOR})
    core['inputs'] = {'topics': ['event_camera/spikes'], 'offsets': [0],
                      'sizes': [2 * SENSOR * SENSOR], 'max_queue_steps': 2000}
    core.setdefault('layers', {}).update({'n_layers': n_layers, 'n_hidden': n_hidden,
                                          'block_size': 64 if n_hidden % 64 == 0 else n_hidden,
                                          'p_input': 0.5, 'w_input': 0.3,
                                          'input_width': SENSOR, 'input_height': SENSOR,
                                          'rf_radius': 4.0})
    core.setdefault('readout', {}).update({'n_classes': 10, 'pop_size': 4, 'window_steps': 50})
    core.setdefault('plasticity', {}).update({'learning': True, 'lr_readout': 3e-4,
                                              'lr_hidden': 3e-5})
    ro = node('readout')
    ro.update({'n_classes': 10, 'window_steps': 50,
               'class_names': [str(k) for k in range(10)]})
    return base


# ----------------------------------------------------------------------------- the run


def run_demo(*, short: bool = False, data: str | Path | None = None, n_train: int | None = None,
             n_test: int | None = None, n_hidden: int | None = None, seed: int = 0,
             runs_dir: str | Path = 'runs', quiet: bool = False,
             overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the demo end to end and return its summary (also written to the run folder).

    Args:
        short: the quick setting used by the test suite.
        data: an N-MNIST folder or ``NMNISTsmall.tar.xz`` instead of the emulated digits.
        n_train: training samples (default per mode).
        n_test: test samples (default per mode).
        n_hidden: hidden neurons per layer (default per mode).
        seed: network and data seed.
        runs_dir: where the run folder is created.
        quiet: no progress output.
        overrides: ``{'snn_core': {'layers': {...}}}`` deep-merged into the params.
    """
    import yaml

    from snn_ros.play import play

    mode = MODES['short' if short else 'default']
    n_train = int(mode['n_train'] if n_train is None else n_train)
    n_test = int(mode['n_test'] if n_test is None else n_test)
    n_hidden = int(mode['n_hidden'] if n_hidden is None else n_hidden)
    t_start = time.perf_counter()
    run_dir = new_run_dir(runs_dir, 'demo')
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))

    # 1. data -> events -> evt3 EventPackets in an MCAP bag
    t0 = time.perf_counter()
    samples: list[tuple[np.ndarray, ...]] = []
    labels: list[int] = []
    if data is None:
        source = 'sklearn digits -> image event emulator (3 saccades, 300 ms)'
        xtr, ytr, xte, yte = digits_dataset(n_train, n_test, seed)
        for img in list(xtr) + list(xte):
            samples.append(image_events(img, 0))
        labels = list(ytr) + list(yte)
    else:
        source = f'N-MNIST recordings from {data}'
        ds = nmnist_dataset(data, n_train, n_test)
        for x, y, p, t_us, lab in ds['train'] + ds['test']:
            t_ns = np.minimum(t_us * 1000, SAMPLE_MS * NS_PER_MS - 1)
            order = np.argsort(t_ns, kind='stable')
            samples.append((x[order], y[order], p[order], t_ns[order]))
            labels.append(int(lab))
        n_train, n_test = len(ds['train']), len(ds['test'])
    teach = [True] * n_train + [False] * n_test
    bag = run_dir / 'input_bag'
    spans = write_demo_bag(bag, samples, labels, teach)
    n_events = int(sum(s[0].size for s in samples))
    t_data = time.perf_counter() - t0
    say(f'[demo] {source}: {n_train} train + {n_test} test samples, {n_events} events '
        f'({t_data:.1f} s) -> {bag}')

    # 2. params for the composed graph
    params = demo_params(n_hidden, int(mode['n_layers']), seed)
    for node, vals in (overrides or {}).items():
        _deep_merge(params.setdefault(node, {}).setdefault('ros__parameters', {}), vals)
    params_path = run_dir / 'params.yaml'
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))

    # 3. live: play the bag into the graph, learn online, collect decisions
    rec = RunRecorder(run_dir, 10, [str(k) for k in range(10)])
    rec.modulation_labels = ['mean |activity| of the modulatory populations',
                             'modulatory population activity (norm)']
    starts = np.array([s[0] for s in spans], np.int64)
    votes = np.zeros((len(spans), 10), np.int64)
    state = {'done': 0, 'correct': 0, 'test_done': 0, 'test_correct': 0, 'last_print': 0.0}
    n_total = len(spans)

    def sample_of(stamp_ns: int) -> int:
        return int(np.searchsorted(starts, stamp_ns, side='right')) - 1

    def finish_samples(upto: int) -> None:
        while state['done'] < min(upto, n_total):
            k = state['done']
            pred = int(np.argmax(votes[k])) if votes[k].sum() else -1
            test = not teach[k]
            ok = pred == labels[k]
            state['correct'] += ok
            if test:
                state['test_done'] += 1
                state['test_correct'] += ok
            rec.add_decision(k * SAMPLE_MS / 1000.0, pred, labels[k], test)
            state['done'] += 1
            now = time.perf_counter()
            if not quiet and (now - state['last_print'] > 2.0 or state['done'] == n_total):
                state['last_print'] = now
                line = (f'[demo] sample {state["done"]}/{n_total}: running accuracy '
                        f'{state["correct"] / state["done"]:.3f} (train, teaching on)')
                if state['test_done']:
                    line += (f'; test {state["test_correct"] / state["test_done"]:.3f} '
                             f'over {state["test_done"]}')
                say(line)

    def on_decision(stamp_ns: int, class_index: int, counts: list[int]) -> None:
        k = sample_of(stamp_ns)
        if 0 <= k < n_total:
            finish_samples(k)
            votes[k] += np.asarray(counts[:10], np.int64)

    def on_status(msg: Any, t_s: float) -> None:
        n = len(msg.layer_rate_hz)
        rec.add_stats(t_s, list(msg.layer_rate_hz), list(msg.threshold_mean)[:max(n - 1, 0)],
                      [float(np.abs(np.asarray(msg.modulatory_activity)).mean())
                       if len(msg.modulatory_activity) else 0.0,
                       float(np.linalg.norm(np.asarray(msg.modulatory_activity)))],
                      dict(zip(msg.weight_names, msg.weight_norm)))

    core_box: dict[str, Any] = {}

    def on_start(nodes: list[Any]) -> None:
        core = next(n for n in nodes if hasattr(n, 'net'))
        core_box['core'] = core
        rec.set_weights(core.net, 'before')

    def on_end(nodes: list[Any]) -> None:
        core = core_box['core']
        rec.set_weights(core.net, 'after')
        core_box['net'] = core.net
        core_box['steps'] = int(core.net.t)

    t1 = time.perf_counter()
    say(f'[demo] streaming {len(spans) * 3} EventPackets through the composed ROS graph '
        '(event_camera -> snn_core -> readout), learning online from ~/label')
    res = play(bag, rate=1e6, graph=params_path, lockstep=True, clock=True,
               settle_s=0.5, progress=False, on_decision=on_decision, on_status=on_status,
               hooks={'start': on_start, 'end': on_end})
    finish_samples(n_total)
    t_graph = time.perf_counter() - t1

    # 4. report: raster of one test sample on the trained network, summary, figures
    net = core_box.get('net')
    if net is not None:
        rec.raster = _raster(net, params, samples[-1])
    rec.dt_s = DT_S
    rec.timings.update({'data_s': t_data, 'graph_s': t_graph,
                        'total_s': time.perf_counter() - t_start})
    acc, n = rec.accuracy(test_only=True)
    summary = rec.finish({
        'mode': 'short' if short else 'default', 'source': source, 'seed': seed,
        'n_train': n_train, 'config_hash': config_hash(params),
        'network_steps': core_box.get('steps'), 'events': n_events,
        'published': res.get('published'), 'nodes': res.get('nodes'),
        'chance': 0.1, 'input_bag': str(bag), 'params': str(params_path),
    })
    say(f'[demo] test accuracy {acc:.3f} on {n} digits (chance 0.100); '
        f'{summary["timings"]["total_s"]:.0f} s; report in {run_dir}')
    for f in summary.get('figures', []):
        say(f'[demo]   {f}')
    return summary


def _deep_merge(dst: dict[str, Any], src: dict[str, Any]) -> None:
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _deep_merge(dst[k], v)
        else:
            dst[k] = v


def _raster(net: Any, params: dict[str, Any], sample: tuple[np.ndarray, ...]
            ) -> dict[str, np.ndarray]:
    """Bin one sample with a fresh adapter and record every group's spikes on ``net``."""
    from snn_ros.adapters.event_codecs import encode_evt3
    from snn_ros.replay import make_adapter
    from snn_ros.report import record_raster

    x, y, p, t = sample
    flat = {}
    for k, v in params['event_camera']['ros__parameters'].items():
        flat[k] = tuple(v) if isinstance(v, list) else v

    class _Pkt:
        height = SENSOR
        width = SENSOR
        seq = 0
        time_base = 0
        encoding = 'evt3'
        is_bigendian = False

    pkt = _Pkt()
    pkt.events = np.frombuffer(encode_evt3(x, y, p, t), np.uint8)
    ad = make_adapter('event_camera', 'event_camera_msgs/msg/EventPacket', flat,
                      int(round(DT_S * 1e9)))
    batch = ad.process(pkt)
    was = net.learning
    try:
        net.learning = False
        net.reset_state()
        return record_raster(net, batch.steps())
    finally:
        net.learning = was


def main(argv: list[str] | None = None) -> int:
    """Run ``snn-ros demo`` (see :mod:`snn_ros.cli`)."""
    from snn_ros.cli import main as cli_main

    return cli_main(['demo'] + list(argv or []))


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))


__all__ = ['digits_dataset', 'image_events', 'nmnist_dataset', 'run_demo', 'write_demo_bag']
