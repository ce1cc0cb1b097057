"""Thin rclpy nodes wrapping the core and the adapters."""

import os

# One BLAS thread per node process unless the user set it: the executor thread is the compute
# thread, and OpenBLAS worker threads (threaded above ~10k elements) stalled the core's status
# (weight norms) for 10-50 ms on a busy 2-core machine instead of ~1 ms. Runs before any node
# module imports numpy.
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
