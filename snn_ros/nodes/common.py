"""Pieces every node shares: the ``/diagnostics`` status and the ``main`` spin loop."""

from __future__ import annotations

import gc
from typing import Any, Callable

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
import rclpy
from rclpy.executors import Executor, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.publisher import Publisher


def publish_diagnostics(node: Node, publisher: Publisher, what: str, hardware_id: str,
                        values: dict[str, Any], warning: str = '') -> None:
    """Publish one ``DiagnosticStatus`` named after the node: WARN with ``warning``, else OK.

    Args:
        node: the publishing node (its name and clock).
        publisher: the node's ``DiagnosticArray`` publisher on ``/diagnostics``.
        what: role appended to the node name (``adapter``, ``readout``, ...).
        hardware_id: the status's hardware id.
        values: counters, published as key/value strings.
        warning: message of a WARN status; empty for OK (message ``ok``).
    """
    status = DiagnosticStatus(name=f'{node.get_fully_qualified_name()}: {what}',
                              hardware_id=hardware_id)
    status.level = DiagnosticStatus.WARN if warning else DiagnosticStatus.OK
    status.message = warning or 'ok'
    status.values = [KeyValue(key=k, value=str(v)) for k, v in values.items()]
    diag = DiagnosticArray(status=[status])
    diag.header.stamp = node.get_clock().now().to_msg()
    publisher.publish(diag)


def freeze_startup_objects() -> None:
    """Move every object alive now out of the garbage collector's view (``gc.freeze``).

    Call once the nodes are built: start-up objects (numba dispatchers, configs, messages)
    live for the whole run, and a full collection over them took up to ~90 ms in the
    composed graph; afterwards collections only scan what the run allocates.
    """
    gc.collect()
    gc.freeze()


#: executor choices of the node processes (``--executor``).
EXECUTORS = ('auto', 'events', 'single')


def events_executor_class() -> type[Executor] | None:
    """Return rclpy's ``EventsExecutor`` class, or None where this rclpy has none (Jazzy)."""
    try:
        from rclpy.experimental import EventsExecutor
    except ImportError:
        return None
    return EventsExecutor


def make_executor(kind: str = 'auto', context: rclpy.context.Context | None = None
                  ) -> Executor:
    """Return the executor ``kind`` names (one of :data:`EXECUTORS`).

    ``events`` is rclpy's ``EventsExecutor`` (Kilted on): ready entities arrive through a C++
    event queue instead of a wait set rebuilt on every spin (``bench.graph``, composed, 10 Mev/s:
    1.7-1.9 ms graph CPU per packet against 2.1-2.2 ms with the ``SingleThreadedExecutor``,
    ``single``). ``auto`` takes ``events`` where rclpy has it and ``single`` elsewhere.

    Raises:
        ValueError: unknown kind, or ``events`` on an rclpy without it.
    """
    if kind not in EXECUTORS:
        raise ValueError(f'executor must be one of {EXECUTORS}, got {kind!r}')
    cls = events_executor_class()
    if kind == 'events' and cls is None:
        raise ValueError("executor 'events' needs rclpy.experimental.EventsExecutor "
                         '(ROS 2 Kilted or later)')
    if kind == 'single' or cls is None:
        return SingleThreadedExecutor(context=context)
    return cls(context=context)


def spin(executor: Executor) -> None:
    """Spin ``executor`` until shutdown, returning to Python between callbacks.

    ``spin_once`` in a loop rather than ``spin()``: rclpy's ``EventsExecutor.spin()`` stays in
    C++ (Ctrl-C is never seen and a shutdown from another thread does not stop it), while
    ``spin_once`` gives the interpreter a chance to raise ``KeyboardInterrupt`` after every
    callback. Returns when the context shuts down.
    """
    context = executor.context
    try:
        while context.ok():
            executor.spin_once(timeout_sec=0.25)
    except rclpy.executors.ExternalShutdownException:
        pass      # the EventsExecutor's way of saying the context shut down


def run(node_factory: Callable[[], Node], args: Any = None,
        on_exit: Callable[[Node], None] | None = None) -> None:
    """Spin one node until Ctrl-C or shutdown (the body of every node's ``main``).

    Args:
        node_factory: builds the node (after ``rclpy.init``).
        args: command-line arguments for ``rclpy.init``.
        on_exit: called with the node before it is destroyed (for example to save state).
    """
    rclpy.init(args=args)
    node = None
    executor = make_executor()
    try:
        node = node_factory()
        executor.add_node(node)
        freeze_startup_objects()
        spin(executor)
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass
    finally:
        if node is not None:
            if on_exit is not None:
                on_exit(node)
            executor.remove_node(node)
            node.destroy_node()
        executor.shutdown()
        rclpy.try_shutdown()
