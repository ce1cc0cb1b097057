"""Pieces every node shares: the ``/diagnostics`` status and the ``main`` spin loop."""

from __future__ import annotations

import gc
from typing import Any, Callable

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
import rclpy
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
    try:
        node = node_factory()
        freeze_startup_objects()
        rclpy.spin(node)
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass
    finally:
        if node is not None:
            if on_exit is not None:
                on_exit(node)
            node.destroy_node()
        rclpy.try_shutdown()
