"""The executor of the node processes: choice, fallback and a spin loop that stops."""

from __future__ import annotations

import pytest

rclpy = pytest.importorskip('rclpy')
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402

from snn_ros.nodes.common import (  # noqa: E402
    events_executor_class, EXECUTORS, make_executor, spin)

pytestmark = pytest.mark.ros


def test_unknown_executor_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match='auto.*events.*single'):
        make_executor('threads')


@pytest.mark.parametrize('kind', EXECUTORS)
def test_spin_runs_callbacks_and_returns_on_shutdown(kind):
    cls = events_executor_class()
    if kind == 'events' and cls is None:
        with pytest.raises(ValueError, match='Kilted'):
            make_executor(kind)
        return
    context = rclpy.context.Context()
    rclpy.init(context=context)
    node = None
    try:
        executor = make_executor(kind, context=context)
        if kind == 'single' or cls is None:
            assert isinstance(executor, SingleThreadedExecutor)
        else:
            assert not isinstance(executor, SingleThreadedExecutor)
        node = Node('executor_probe', context=context)
        calls = []

        def tick():
            calls.append(1)
            if len(calls) == 5:
                context.shutdown()

        node.create_timer(0.002, tick)
        executor.add_node(node)
        spin(executor)          # returns once the timer shut the context down
        assert len(calls) == 5
        executor.remove_node(node)
        executor.shutdown()
    finally:
        if node is not None:
            node.destroy_node()
        context.try_shutdown()
