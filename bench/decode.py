"""Event decoding and binning throughput on one core; prints one JSON object per line.

Case ``evt3``: the Gen4.1 recording ``prophesee-raw/evt3_gen41_expelliarmus.raw``, its event
words repeated 40 times (8.78 M events, 24.7 MB). Each copy's TIME_HIGH words are advanced by
4 (16 ms) so time keeps increasing across copies (a plain repeat would jump back by 8.8 ms at
every copy).
Case ``libcaer``: 8.78 M synthetic DAVIS346 polarity events. Best of 3 after a warm-up run,
measured in process CPU time (see :func:`best_of`; ``*_wall`` lines give wall time).
``decode_bin`` runs the full adapter (64x48 grid, 2 polarity planes, 1 ms steps; EVT3 through
the fused decode+bin kernel).
Peers (expelliarmus, faery) are measured on the same bytes written as a .raw file when they are
importable, else skipped.

Run: ``python bench/decode.py`` (set ``SNN_ROS_SHARED_DATA`` if the data is not in
``../shared/data``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import sys
import tempfile
import time
from types import SimpleNamespace

import numpy as np

os.environ.setdefault('NUMBA_NUM_THREADS', '1')
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from snn_ros.adapters.event_camera import EventCameraAdapter, EventCameraConfig  # noqa: E402
from snn_ros.adapters.event_codecs import StreamDecoder  # noqa: E402
from snn_ros.study import shared_data_dir  # noqa: E402

DATA = shared_data_dir()
RAW = DATA / 'prophesee-raw' / 'evt3_gen41_expelliarmus.raw'
REPEATS = 40
RUNS = 3


def emit(case: str, impl: str, metric: str, value: float, unit: str) -> None:
    """Print one metric as a JSON line."""
    print(json.dumps({'bench': 'decode', 'case': case, 'impl': impl, 'metric': metric,
                      'value': round(value, 3), 'unit': unit}), flush=True)


WALL: dict[tuple[str, str], float] = {}


def best_of(fn, runs: int = RUNS) -> float:
    """Return the best time of ``runs`` calls after one warm-up call.

    The time is the process's CPU time (user + system, all threads), not wall time: the
    development machine is shared, and CPU time does not count the slices other processes
    take. Every implementation here decodes on one thread. The best wall time is kept in
    ``WALL['last']`` for the ``*_wall`` lines.
    """
    fn()
    best = float('inf')
    best_wall = float('inf')
    for _ in range(runs):
        w0 = time.perf_counter()
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
        best_wall = min(best_wall, time.perf_counter() - w0)
    WALL['last'] = best_wall
    return best


def split_header(raw: bytes) -> tuple[bytes, bytes]:
    """Split a Prophesee .raw file into its ``%`` header lines and the event words."""
    i = 0
    while raw[i:i + 1] == b'%':
        i = raw.index(b'\n', i) + 1
    return raw[:i], raw[i:]


def repeated_evt3(body: bytes, repeats: int) -> np.ndarray:
    """Return the EVT3 words repeated, TIME_HIGH advanced by 4 per copy (uint8 payload)."""
    words = np.frombuffer(body, '<u2')
    is_high = (words >> 12) == 8
    copies = []
    for k in range(repeats):
        w = words.copy()
        w[is_high] = 0x8000 | ((w[is_high] & 0xFFF) + 4 * k) & 0xFFF
        copies.append(w)
    return np.concatenate(copies).view(np.uint8)


def libcaer_payload(n: int, seed: int = 0) -> np.ndarray:
    """Return ``n`` synthetic DAVIS346 libcaer polarity events with increasing timestamps."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 346, n).astype(np.uint32)
    y = rng.integers(0, 260, n).astype(np.uint32)
    p = rng.integers(0, 2, n).astype(np.uint32)
    ts = np.cumsum(rng.integers(0, 3, n)).astype(np.int32)
    rec = np.empty(n, [('data', '<u4'), ('ts', '<i4')])
    rec['data'] = (x << 17) | (y << 2) | (p << 1) | 1
    rec['ts'] = ts
    return rec.view(np.uint8)


def packet(encoding: str, payload: np.ndarray, width: int, height: int) -> SimpleNamespace:
    """Return an EventPacket-like object."""
    return SimpleNamespace(header=None, height=height, width=width, seq=0, time_base=0,
                           encoding=encoding, is_bigendian=False, events=payload)


def bench_snn_ros(case: str, payload: np.ndarray, width: int, height: int) -> float:
    """Measure decode and decode+bin throughput of one payload; return decode Mev/s."""
    n_events = StreamDecoder().decode(case, payload, width, height).size

    decoder = StreamDecoder()

    def decode():
        decoder.reset()   # each run decodes the payload as a fresh stream; buffers are reused
        decoder.decode(case, payload, width, height)

    cfg = EventCameraConfig(out_width=64, out_height=48, dt_ns=1_000_000)
    msg = packet(case, payload, width, height)
    adapter = EventCameraAdapter(cfg)

    def decode_bin():
        adapter.reset()
        adapter.process(msg)

    dec = n_events / best_of(decode) / 1e6
    dec_wall = n_events / WALL['last'] / 1e6
    both = n_events / best_of(decode_bin) / 1e6
    both_wall = n_events / WALL['last'] / 1e6
    emit(case, 'snn_ros', 'decode_mev_per_s', dec, 'Mev/s')
    emit(case, 'snn_ros', 'decode_bin_mev_per_s', both, 'Mev/s')
    emit(case, 'snn_ros', 'decode_mev_per_s_wall', dec_wall, 'Mev/s')
    emit(case, 'snn_ros', 'decode_bin_mev_per_s_wall', both_wall, 'Mev/s')
    emit(case, 'snn_ros', 'events', n_events, 'events')
    return dec


def bench_peers(header: bytes, payload: np.ndarray, ours: float) -> None:
    """Measure expelliarmus and faery on the same EVT3 bytes when they are importable."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / 'evt3_x40.raw'
        path.write_bytes(header + payload.tobytes())
        try:
            from expelliarmus import Wizard
        except ImportError:
            Wizard = None
        if Wizard is not None:
            wiz = Wizard(encoding='evt3')
            wiz.set_file(str(path))
            n = len(wiz.read())
            rate = n / best_of(wiz.read) / 1e6
            emit('evt3', 'expelliarmus', 'decode_mev_per_s', rate, 'Mev/s')
            emit('evt3', 'expelliarmus', 'decode_mev_per_s_wall', n / WALL['last'] / 1e6,
                 'Mev/s')
            emit('evt3', 'snn_ros/expelliarmus', 'decode_ratio', ours / rate, 'x')
        try:
            import faery
        except ImportError:
            faery = None
        if faery is not None:
            def read():
                return faery.events_stream_from_file(
                    path, dimensions_fallback=(1280, 720)).to_array()
            n = len(read())
            rate = n / best_of(read) / 1e6
            emit('evt3', 'faery', 'decode_mev_per_s', rate, 'Mev/s')
            emit('evt3', 'faery', 'decode_mev_per_s_wall', n / WALL['last'] / 1e6, 'Mev/s')
            emit('evt3', 'snn_ros/faery', 'decode_ratio', ours / rate, 'x')


def main() -> None:
    """Run the evt3 (when the recording is present) and libcaer cases."""
    if RAW.is_file():
        header, body = split_header(RAW.read_bytes())
        payload = repeated_evt3(body, REPEATS)
        ours = bench_snn_ros('evt3', payload, 1280, 720)
        bench_peers(header, payload, ours)
    else:
        print(json.dumps({'bench': 'decode', 'case': 'evt3', 'skipped': f'{RAW} absent'}))
    n = 219_596 * REPEATS
    bench_snn_ros('libcaer', libcaer_payload(n), 346, 260)


if __name__ == '__main__':
    main()
