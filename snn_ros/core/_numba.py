"""The one place numba flags are set, so every kernel compiles the same way.

fastmath and parallel stay off by default: the same seed and input must give bit-identical
spikes and weights. ``cache=True`` keeps compiled kernels between processes.
"""

from __future__ import annotations

import os

from numba import njit as _njit
from numba.core.options import DefaultOptions

FASTMATH = False
PARALLEL = False
CACHE = os.environ.get('SNN_ROS_NUMBA_CACHE', '1') != '0'
NO_NRT = hasattr(DefaultOptions, '_nrt')   # numba's option to compile without its runtime


def njit(*args, **kwargs):
    """Return numba's ``njit`` with the project's flags (``nogil``, ``cache``, no fastmath)."""
    opts = {'nogil': True, 'cache': CACHE, 'fastmath': FASTMATH}
    opts.update(kwargs)
    if args and callable(args[0]) and len(args) == 1 and not kwargs:
        return _njit(**opts)(args[0])
    return _njit(*args, **opts)


def njit_no_nrt(fn):
    """Return ``njit(fn)`` compiled without numba's reference-counting runtime (NRT).

    For kernels that never allocate and take many arrays, such as a ``ProjectionArrays``
    tuple (36 arrays): with the runtime, numba increfs and decrefs array arguments on entry
    and exit of every call and its refcount pruning often keeps the pairs (functions with
    several exits), tens of atomic operations per call (0.3-2 us measured per plasticity
    kernel call). Without it the arguments are borrowed, as the caller holds them anyway.
    Numba compiles every function such a kernel calls the same way and refuses to compile an
    allocation in any of them. Falls back to plain ``njit`` when numba lacks the option.
    """
    if NO_NRT:
        return njit(_nrt=False)(fn)
    return njit(fn)


def _prefetch_intrinsic():
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic

    @intrinsic
    def prefetch(typingctx, arr, idx):
        """Hint the CPU to load ``arr[idx]`` into cache (``llvm.prefetch``; never faults)."""
        sig = types.void(arr, idx)

        def codegen(context, builder, signature, args):
            aty = signature.args[0]
            ary = context.make_array(aty)(context, builder, args[0])
            ptr = cgutils.get_item_pointer(context, builder, aty, ary, [args[1]],
                                           wraparound=False, boundscheck=False)
            i8p = ir.IntType(8).as_pointer()
            i32 = ir.IntType(32)
            fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
            fn = cgutils.get_or_insert_function(builder.module, fnty, 'llvm.prefetch.p0')
            builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0),
                              ir.Constant(i32, 3), ir.Constant(i32, 1)])
            return context.get_dummy_value()
        return sig, codegen
    return prefetch


prefetch = _prefetch_intrinsic()
