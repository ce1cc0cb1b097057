"""ROS-free bag input and output with rosbags: any bag in, the network's outputs out.

Reading (:class:`BagReader`) accepts a ROS 2 bag folder (sqlite3 ``.db3`` or ``.mcap``), a bare
``.db3`` or ``.mcap`` file, a folder whose ``metadata.yaml`` is unusable (its storage files are
read directly), and ROS 1 ``.bag`` files. Message types come from the definitions stored in the
bag; types a bag does not describe come from ROS 2 Kilted plus this project's ``msg/*.msg`` and
``event_camera_msgs/msg/EventPacket``. Messages are yielded in bag time order.

A bag cut in the middle (a crash while recording) has no index or footer: the reader then
scans the file record by record and yields every message that was written completely before
the cut (for chunked MCAP and ROS 1 files, every complete chunk), and reports ``truncated``.

Writing (:class:`BagWriter`) records the network's outputs into a rosbag2 folder (MCAP or
sqlite3, version 9) with full message definitions, so Foxglove and ``ros2 bag`` open it.
"""

from __future__ import annotations

import bz2
import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
import sqlite3
import struct
import sys
from typing import Any, BinaryIO

NS_PER_S = 1_000_000_000

EVENT_PACKET_MSG = (
    'std_msgs/Header header\nuint32 height\nuint32 width\nuint64 seq\nuint64 time_base\n'
    'string encoding\nbool is_bigendian\nuint8[] events\n')
EVENT_PACKET_TYPE = 'event_camera_msgs/msg/EventPacket'

_MCAP_MAGIC = b'\x89MCAP0\r\n'
_ROS1_MAGIC = b'#ROSBAG V2.0\n'
_SQLITE_MAGIC = b'SQLite format 3\x00'


class ReplayError(Exception):
    """A bag cannot be replayed; the message says why (shown without a traceback)."""


class BagNotFoundError(ReplayError, FileNotFoundError):
    """The bag path does not exist or holds no bag."""


class UnknownTopicError(ReplayError, ValueError):
    """A requested topic is not in the bag."""


class UndecodableTypeError(ReplayError, ValueError):
    """A message type has no definition in the bag or in the project's types."""


class CorruptBagError(ReplayError):
    """The bag file is damaged beyond the salvageable prefix."""


@dataclass(frozen=True)
class BagMessage:
    """One deserialized message: topic, type name, receive time (ns) and the message."""

    topic: str
    msgtype: str
    t_ns: int
    msg: Any


@dataclass
class BagInfo:
    """What a bag holds and how it was read."""

    path: str
    storage: str
    topics: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    truncated: bool = False
    warnings: list[str] = field(default_factory=list)


def _repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def _msg_dirs() -> list[tuple[str, Path]]:
    """Return (package, msg folder) pairs holding the project's .msg definitions."""
    root = _repo_root()
    cands = [('snn_ros', root / 'msg'),
             ('event_camera_msgs', root / 'interfaces' / 'event_camera_msgs' / 'msg')]
    prefix = Path(sys.prefix)
    for pkg in ('snn_ros', 'event_camera_msgs'):
        cands.append((pkg, prefix / 'share' / pkg / 'msg'))
    return [(pkg, d) for pkg, d in cands if d.is_dir()]


_TYPESTORE_CACHE: dict[str, Any] = {}


def project_typestore(kind: str = 'ros2') -> Any:
    """Return a rosbags typestore with ROS 2 Kilted (or ROS 1) types plus the project's types.

    Args:
        kind: ``'ros2'`` (CDR) or ``'ros1'`` (ROS 1 serialization).

    Returns:
        A typestore knowing std/sensor/geometry msgs, ``snn_ros/msg/*`` and EventPacket.
    """
    if kind not in _TYPESTORE_CACHE:
        _TYPESTORE_CACHE[kind] = build_typestore(kind)
    return _TYPESTORE_CACHE[kind]


def build_typestore(kind: str = 'ros2') -> Any:
    """Return a new typestore like :func:`project_typestore` (safe to register more types)."""
    from rosbags.typesys import get_types_from_msg, get_typestore, Stores

    ts = get_typestore(Stores.ROS2_KILTED if kind == 'ros2' else Stores.ROS1_NOETIC)
    types: dict[str, Any] = {}
    types.update(get_types_from_msg(EVENT_PACKET_MSG, EVENT_PACKET_TYPE))
    for pkg, folder in _msg_dirs():
        for f in sorted(folder.glob('*.msg')):
            name = f'{pkg}/msg/{f.stem}'
            if name in types:
                continue
            try:
                types.update(get_types_from_msg(f.read_text(), name))
            except Exception:  # noqa: BLE001 - a broken optional definition is skipped
                continue
    ts.register({k: v for k, v in types.items() if k not in ts.fielddefs})
    return ts


# ----------------------------------------------------------------------------- storage resolution


def _sniff(path: Path) -> str:
    """Return 'mcap', 'sqlite3', 'ros1' or '' from a file's first bytes."""
    try:
        with path.open('rb') as f:
            head = f.read(16)
    except OSError:
        return ''
    if head.startswith(_MCAP_MAGIC):
        return 'mcap'
    if head.startswith(_SQLITE_MAGIC):
        return 'sqlite3'
    if head.startswith(_ROS1_MAGIC[:9]):
        return 'ros1'
    return ''


def _metadata_ok(folder: Path) -> bool:
    """Return whether a rosbag2 folder's metadata.yaml names storage files that exist."""
    meta = folder / 'metadata.yaml'
    if not meta.is_file():
        return False
    try:
        import yaml

        info = yaml.safe_load(meta.read_text())['rosbag2_bagfile_information']
        files = info.get('relative_file_paths') or []
        return (info.get('storage_identifier') in ('sqlite3', 'mcap') and bool(files)
                and all((folder / Path(x).name).is_file() for x in files))
    except Exception:  # noqa: BLE001 - any unreadable metadata means: read the files
        return False


def resolve_storage(path: str | Path) -> tuple[list[Path], str]:
    """Return the paths to open and the storage kind for a bag path.

    Raises:
        BagNotFoundError: the path is missing, or a folder without bag files.
        CorruptBagError: a file that is none of MCAP, sqlite3 or ROS 1.
    """
    p = Path(path)
    if not p.exists():
        raise BagNotFoundError(f'bag not found: {p}')
    if p.is_dir():
        files = sorted(x for x in p.iterdir() if x.suffix in ('.mcap', '.db3', '.bag'))
        if not files:
            raise BagNotFoundError(f'no bag files (.mcap, .db3, .bag) in folder {p}')
        kinds = {_sniff(f) for f in files}
        kind = kinds.pop() if len(kinds) == 1 else ''
        if kind in ('mcap', 'sqlite3') and _metadata_ok(p):
            return [p], kind
        if not kind:
            raise CorruptBagError(f'{p}: storage files are not MCAP, sqlite3 or ROS 1 bags')
        return files, kind
    kind = _sniff(p)
    if not kind:
        if p.stat().st_size == 0:
            raise CorruptBagError(f'{p}: file is empty')
        raise CorruptBagError(f'{p}: not a bag (no MCAP, sqlite3 or ROS 1 magic)')
    return [p], kind


# ----------------------------------------------------------------------------- salvage scanners


@dataclass
class _Conn:
    topic: str
    msgtype: str
    fmt: str        # 'msg', 'idl' or '' (no definition stored)
    msgdef: str


def _u16(b: bytes, o: int) -> tuple[int, int]:
    return struct.unpack_from('<H', b, o)[0], o + 2


def _u32(b: bytes, o: int) -> tuple[int, int]:
    return struct.unpack_from('<I', b, o)[0], o + 4


def _u64(b: bytes, o: int) -> tuple[int, int]:
    return struct.unpack_from('<Q', b, o)[0], o + 8


def _str(b: bytes, o: int) -> tuple[str, int]:
    n, o = _u32(b, o)
    if o + n > len(b):
        raise struct.error('string past record end')
    return b[o:o + n].decode(), o + n


class _Cut(Exception):
    """The file ended (or broke) here."""


def _read(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise _Cut()
    return data


def _mcap_records(buf: BinaryIO, conns: dict[int, _Conn], schemas: dict[int, tuple],
                  out: list) -> None:
    """Parse MCAP records from ``buf`` until its end, appending (conn_id, t_ns, data)."""
    from rosbags.rosbag2.storage_mcap import decompress

    while True:
        op = buf.read(1)
        if not op:
            return
        (size,) = struct.unpack('<Q', _read(buf, 8))
        body = _read(buf, size)
        code = op[0]
        if code == 0x03:  # schema
            sid, o = _u16(body, 0)
            name, o = _str(body, o)
            enc, o = _str(body, o)
            n, o = _u32(body, o)
            schemas[sid] = (name, enc, body[o:o + n].decode())
        elif code == 0x04:  # channel
            cid, o = _u16(body, 0)
            sid, o = _u16(body, o)
            topic, o = _str(body, o)
            name, enc, text = schemas.get(sid, ('', '', ''))
            fmt = {'ros2msg': 'msg', 'ros2idl': 'idl'}.get(enc, '')
            conns[cid] = _Conn(topic, name, fmt, text)
        elif code == 0x05:  # message
            cid, o = _u16(body, 0)
            log_time = struct.unpack_from('<Q', body, 6)[0]
            out.append((cid, log_time, body[22:]))
        elif code == 0x06:  # chunk
            o = 16
            usize, o = _u64(body, o)
            crc, o = _u32(body, o)
            comp, o = _str(body, o)
            n, o = _u64(body, o)
            if o + n > len(body):
                raise _Cut()
            raw = decompress(body[o:o + n], comp, usize, crc)
            _mcap_records(BytesIO(raw), conns, schemas, out)
        elif code in (0x02, 0x0F):  # footer, data end
            return


def _salvage_mcap(path: Path) -> tuple[dict[int, _Conn], list]:
    conns: dict[int, _Conn] = {}
    schemas: dict[int, tuple] = {}
    out: list = []
    with path.open('rb') as f:
        if f.read(8) != _MCAP_MAGIC:
            raise CorruptBagError(f'{path}: MCAP magic missing')
        try:
            _mcap_records(f, conns, schemas, out)
        except (_Cut, struct.error, UnicodeDecodeError, Exception):  # noqa: BLE001
            pass
    return conns, out


def _salvage_sqlite(path: Path) -> tuple[dict[int, _Conn], list]:
    """Read the rows of a cut sqlite3 bag that lie before the cut.

    The header of a cut file still claims the full page count, so SQLite reads past the end
    and reports the whole file as malformed; a temporary copy with the page count set to what
    is really there reads normally until the first missing page.
    """
    import tempfile

    data = bytearray(path.read_bytes())
    if len(data) < 100:
        raise CorruptBagError(f'{path}: sqlite3 file too short ({len(data)} bytes)')
    page = int.from_bytes(data[16:18], 'big')
    page = 65536 if page == 1 else page
    if page < 512:
        raise CorruptBagError(f'{path}: sqlite3 header damaged')
    n_pages = len(data) // page
    data[28:32] = n_pages.to_bytes(4, 'big')
    del data[n_pages * page:]
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / 'salvage.db3'
        copy.write_bytes(bytes(data))
        del data
        return _read_sqlite_rows(copy, path)


def _read_sqlite_rows(copy: Path, path: Path) -> tuple[dict[int, _Conn], list]:
    conns: dict[int, _Conn] = {}
    out: list = []
    try:
        db = sqlite3.connect(f'file:{copy}?mode=ro&immutable=1', uri=True)
    except sqlite3.Error as err:
        raise CorruptBagError(f'{path}: cannot open sqlite3 database ({err})') from None
    try:
        defs: dict[str, tuple[str, str]] = {}
        try:
            for typ, enc, text in db.execute('SELECT topic_type, encoding, '
                                             'encoded_message_definition '
                                             'FROM message_definitions'):
                defs[typ] = ({'ros2msg': 'msg', 'ros2idl': 'idl'}.get(enc, ''), text)
        except sqlite3.Error:
            pass
        try:
            for tid, name, typ in db.execute('SELECT id, name, type FROM topics'):
                fmt, text = defs.get(typ, ('', ''))
                conns[tid] = _Conn(name, typ, fmt, text)
        except sqlite3.Error as err:
            raise CorruptBagError(f'{path}: topics table unreadable ({err})') from None
        try:
            for row in db.execute('SELECT topic_id, timestamp, data FROM messages'):
                out.append(row)
        except sqlite3.Error:
            pass
    finally:
        db.close()
    return conns, out


def _salvage_ros1(path: Path) -> tuple[dict[int, _Conn], list]:
    from rosbags.rosbag1.reader import decompressors, Header, normalize_msgtype

    conns: dict[int, _Conn] = {}
    out: list = []

    def records(buf: BinaryIO) -> None:
        while True:
            peek = buf.read(4)
            if not peek:
                return
            if len(peek) < 4:
                raise _Cut()
            (hlen,) = struct.unpack('<I', peek)
            hdr = Header.read(BytesIO(peek + _read(buf, hlen)))
            (dlen,) = struct.unpack('<I', _read(buf, 4))
            data = _read(buf, dlen)
            op = hdr.get_uint8('op')
            if op == 0x05:
                comp = hdr.get_string('compression')
                raw = data if comp == 'none' else (
                    bz2.decompress(data) if comp == 'bz2' else
                    decompressors[comp](data))
                records(BytesIO(raw))
            elif op == 0x07:
                cid = hdr.get_uint32('conn')
                inner = Header.read(BytesIO(struct.pack('<I', len(data)) + data))
                conns[cid] = _Conn(hdr.get_string('topic'),
                                   normalize_msgtype(inner.get_string('type')), 'msg',
                                   inner.get_string('message_definition'))
            elif op == 0x02:
                out.append((hdr.get_uint32('conn'), hdr.get_time('time'), data))

    with path.open('rb') as f:
        if f.readline() != _ROS1_MAGIC:
            raise CorruptBagError(f'{path}: ROS 1 bag magic missing')
        try:
            records(f)
        except Exception:  # noqa: BLE001 - the cut (or damage) ends the salvage
            pass
    return conns, out


# ----------------------------------------------------------------------------- reader


class _MultiReader:
    """The per-file rosbags readers merged in time order (no type parsing at open)."""

    def __init__(self, paths: list[Path], kind: str) -> None:
        from rosbags.rosbag1 import Reader as Reader1
        from rosbags.rosbag2 import Reader as Reader2

        self.readers = [Reader1(p) if kind == 'ros1' else Reader2(p) for p in paths]
        self.connections: list[Any] = []

    def open(self) -> None:
        try:
            for r in self.readers:
                r.open()
        except BaseException:
            self.close()
            raise
        self.connections = [c for r in self.readers for c in r.connections]

    def close(self) -> None:
        for r in self.readers:
            try:
                r.close()
            except Exception:  # noqa: BLE001 - closing a reader that never opened
                pass

    def messages(self, connections: list[Any]) -> Iterator[tuple[Any, int, bytes]]:
        gens = []
        for r in self.readers:
            mine = [c for c in connections if c.owner is r or c.owner is getattr(
                r, 'storage', None)]
            if mine:
                gens.append(r.messages(connections=mine))
        yield from heapq.merge(*gens, key=lambda x: x[1])


class BagReader:
    """Read any ROS 1 / ROS 2 bag (or its salvageable prefix) as deserialized messages.

    Use as a context manager; :attr:`info` describes the bag after opening.
    """

    def __init__(self, path: str | Path) -> None:
        """Resolve the bag's storage (raises BagNotFoundError / CorruptBagError)."""
        self.path = Path(path)
        self.paths, self.kind = resolve_storage(self.path)
        self.info = BagInfo(str(self.path), self.kind)
        self._reader: Any = None
        self._salvaged: tuple[dict[int, _Conn], list] | None = None
        self._types: dict[str, tuple[Any, str]] = {}

    # context management
    def __enter__(self) -> BagReader:
        """Open the bag."""
        self.open()
        return self

    def __exit__(self, *exc: Any) -> None:
        """Close the bag."""
        self.close()

    def open(self) -> None:
        """Open the bag: AnyReader, else the per-file readers, else salvage the prefix.

        AnyReader refuses a whole bag when one stored definition does not parse (the real
        ``test_events_2`` MCAP embeds IDL that rosbags cannot parse); the per-file readers then
        read it and each type falls back to the project's definitions.
        """
        from rosbags.highlevel import AnyReader

        ts = project_typestore('ros1' if self.kind == 'ros1' else 'ros2')
        try:
            reader = AnyReader(self.paths, default_typestore=ts)
            reader.open()
        except Exception as err:  # noqa: BLE001 - rosbags raises many kinds
            try:
                reader = _MultiReader(self.paths, self.kind)
                reader.open()
            except Exception:  # noqa: BLE001 - no index: a cut file
                self._reader = None
                self._salvage(err)
                return
        self._reader = reader
        self._set_topics([(c.topic, c.msgtype, '', '', c.msgcount) for c in reader.connections])

    def _salvage(self, err: Exception) -> None:
        files = [f for p in self.paths for f in ([p] if p.is_file() else sorted(
            x for x in p.iterdir() if x.suffix in ('.mcap', '.db3', '.bag')))]
        allconns: dict[tuple[int, int], _Conn] = {}
        rows: list = []
        for i, f in enumerate(files):
            kind = _sniff(f)
            fn = {'mcap': _salvage_mcap, 'sqlite3': _salvage_sqlite,
                  'ros1': _salvage_ros1}.get(kind)
            if fn is None:
                raise CorruptBagError(f'{f}: not a bag file')
            conns, msgs = fn(f)
            allconns.update({(i, k): v for k, v in conns.items()})
            rows.extend(((i, cid), t, data) for cid, t, data in msgs if cid in conns)
        if not rows:
            raise CorruptBagError(f'{self.path}: bag is damaged and holds no readable '
                                  f'message ({err})')
        rows.sort(key=lambda r: r[1])
        self._salvaged = (allconns, rows)
        self.info.truncated = True
        self.info.warnings.append(
            f'bag index unreadable ({err}); replaying the {len(rows)} messages written '
            f'before the cut')
        counts: dict[tuple[int, int], int] = {}
        for key, _, _ in rows:
            counts[key] = counts.get(key, 0) + 1
        self._set_topics([(c.topic, c.msgtype, c.fmt, c.msgdef, counts.get(k, 0))
                          for k, c in allconns.items()])

    def _set_topics(self, conns: list[tuple[str, str, str, str, int]]) -> None:
        for topic, msgtype, _fmt, _text, count in conns:
            self.info.topics[topic] = msgtype
            self.info.counts[topic] = self.info.counts.get(topic, 0) + count

    def close(self) -> None:
        """Close the bag."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    # types
    def _deserializer(self, msgtype: str, fmt: str, text: str) -> Any:
        """Return a callable raw -> message for one connection type."""
        key = msgtype
        if key in self._types:
            return self._types[key]
        from rosbags.typesys import get_types_from_idl, get_types_from_msg, get_typestore, \
            Stores

        ros1 = self.kind == 'ros1'
        ts = None
        if fmt in ('msg', 'idl') and text:
            try:
                ts = get_typestore(Stores.EMPTY)
                if fmt == 'msg':
                    ts.register(get_types_from_msg(text, msgtype))
                else:
                    sep = '=' * 80 + '\n'
                    typs: dict[str, Any] = {}
                    parts = text.split(sep)[1:] if text.startswith(sep + 'IDL: ') else [text]
                    for part in parts:
                        typs.update(get_types_from_idl(part.split('\n', 1)[1]
                                                       if part.startswith('IDL: ') else part))
                    ts.register(typs)
            except Exception:  # noqa: BLE001 - fall back to the project's types
                ts = None
        if ts is None or msgtype not in ts.fielddefs:
            ts = project_typestore('ros1' if ros1 else 'ros2')
        if msgtype not in ts.fielddefs:
            raise UndecodableTypeError(
                f'message type {msgtype!r} cannot be decoded: the bag stores no definition '
                f'and it is not a ROS 2 Kilted or snn_ros type')
        fn = (lambda raw, t=msgtype, s=ts: s.deserialize_ros1(raw, t)) if ros1 else (
            lambda raw, t=msgtype, s=ts: s.deserialize_cdr(raw, t))
        self._types[key] = fn
        return fn

    def cdr_messages(self, topics: list[str] | None = None
                     ) -> Iterator[tuple[str, str, int, bytes]]:
        """Yield (topic, msgtype, t_ns, CDR bytes) in bag time order, for publishing as-is.

        ROS 2 bags give their stored bytes; ROS 1 messages are decoded and re-encoded as CDR
        with the ROS 2 definitions of the same type (ROS 1 ``Header.seq`` is dropped).
        """
        ros2 = project_typestore('ros2')
        for topic, msgtype, t, raw, fn in self.raw_messages(topics):
            if self.kind != 'ros1':
                yield topic, msgtype, t, raw
                continue
            if msgtype not in ros2.fielddefs:
                raise UndecodableTypeError(f'ROS 1 type {msgtype!r} has no ROS 2 definition '
                                           'to publish it with')
            try:
                yield topic, msgtype, t, bytes(ros2.serialize_cdr(fn(raw), msgtype))
            except Exception as err:  # noqa: BLE001
                raise CorruptBagError(f'{self.path}: message on {topic} does not convert to '
                                      f'CDR ({err})') from None

    def check_topics(self, topics: list[str] | None) -> list[str]:
        """Return the requested topics, raising UnknownTopicError for absent ones."""
        if topics is None:
            return sorted(self.info.topics)
        missing = [t for t in topics if t not in self.info.topics]
        if missing:
            raise UnknownTopicError(
                f'topic(s) {missing} not in bag {self.path}; it has: '
                + ', '.join(f'{t} [{m}]' for t, m in sorted(self.info.topics.items())))
        return list(topics)

    def raw_messages(self, topics: list[str] | None = None
                     ) -> Iterator[tuple[str, str, int, bytes, Any]]:
        """Yield (topic, msgtype, t_ns, raw bytes, deserializer) in bag time order."""
        wanted = set(self.check_topics(topics))
        if self._reader is not None:
            reader = self._reader
            sel = [c for c in reader.connections if c.topic in wanted]
            if not sel:
                return
            it = reader.messages(connections=sel)
            while True:
                try:
                    conn, t, raw = next(it)
                except StopIteration:
                    return
                except Exception as err:  # noqa: BLE001 - damaged data inside an indexed bag
                    raise CorruptBagError(f'{self.path}: damaged message data ({err})') from None
                fn = self._deserializer(conn.msgtype, conn.msgdef.format.name.lower(),
                                        conn.msgdef.data)
                yield conn.topic, conn.msgtype, int(t), raw, fn
        else:
            assert self._salvaged is not None
            conns, rows = self._salvaged
            for key, t, raw in rows:
                c = conns[key]
                if c.topic in wanted:
                    yield c.topic, c.msgtype, int(t), bytes(raw), self._deserializer(
                        c.msgtype, c.fmt, c.msgdef)

    def messages(self, topics: list[str] | None = None) -> Iterator[BagMessage]:
        """Yield deserialized messages in bag time order.

        Raises:
            UnknownTopicError: a requested topic is not in the bag.
            UndecodableTypeError: a selected topic's type cannot be decoded.
            CorruptBagError: message bytes do not match their type.
        """
        for topic, msgtype, t, raw, fn in self.raw_messages(topics):
            try:
                msg = fn(raw)
            except Exception as err:  # noqa: BLE001 - serde errors of any kind
                raise CorruptBagError(f'{self.path}: message on {topic} at t={t} ns does not '
                                      f'decode as {msgtype} ({err})') from None
            yield BagMessage(topic, msgtype, t, msg)


# ----------------------------------------------------------------------------- writer


class BagWriter:
    """Write messages of the project's (and ROS 2 Kilted) types into a rosbag2 folder.

    ``storage`` is ``'mcap'`` (default; Foxglove opens it) or ``'sqlite3'``. Messages are
    plain objects of the typestore's classes, built with :meth:`make`.
    """

    def __init__(self, path: str | Path, storage: str = 'mcap') -> None:
        """Create the writer (the folder must not exist yet)."""
        from rosbags.rosbag2 import StoragePlugin, Writer

        if storage not in ('mcap', 'sqlite3'):
            raise ReplayError(f'output storage {storage!r} is not one of mcap, sqlite3')
        self.path = Path(path)
        self.ts = build_typestore('ros2')
        plugin = StoragePlugin.MCAP if storage == 'mcap' else StoragePlugin.SQLITE3
        try:
            self._w = Writer(self.path, version=9, storage_plugin=plugin)
            self._w.open()
        except Exception as err:  # noqa: BLE001
            raise ReplayError(f'cannot write bag {self.path}: {err}') from None
        self._conns: dict[str, Any] = {}
        self.counts: dict[str, int] = {}

    def make(self, msgtype: str, **fields: Any) -> Any:
        """Return a message of ``msgtype`` with ``fields`` (nested messages prebuilt)."""
        return self.ts.types[msgtype](**fields)

    def header(self, t_ns: int, frame_id: str = '') -> Any:
        """Return a std_msgs/Header stamped ``t_ns``."""
        stamp = self.ts.types['builtin_interfaces/msg/Time'](
            sec=int(t_ns // NS_PER_S), nanosec=int(t_ns % NS_PER_S))
        return self.ts.types['std_msgs/msg/Header'](stamp=stamp, frame_id=frame_id)

    def write(self, topic: str, msgtype: str, t_ns: int, msg: Any) -> None:
        """Serialize and write one message."""
        conn = self._conns.get(topic)
        if conn is None:
            conn = self._w.add_connection(topic, msgtype, typestore=self.ts)
            self._conns[topic] = conn
        self._w.write(conn, int(t_ns), self.ts.serialize_cdr(msg, msgtype))
        self.counts[topic] = self.counts.get(topic, 0) + 1

    def write_raw(self, topic: str, msgtype: str, t_ns: int, raw: bytes) -> None:
        """Write already serialized CDR bytes."""
        conn = self._conns.get(topic)
        if conn is None:
            conn = self._w.add_connection(topic, msgtype, typestore=self.ts)
            self._conns[topic] = conn
        self._w.write(conn, int(t_ns), raw)
        self.counts[topic] = self.counts.get(topic, 0) + 1

    def close(self) -> None:
        """Finish the bag (writes index and metadata.yaml)."""
        self._w.close()

    def __enter__(self) -> BagWriter:
        """Return self."""
        return self

    def __exit__(self, *exc: Any) -> None:
        """Close the bag."""
        self.close()
