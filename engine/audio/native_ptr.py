"""Turning an address (an int64 in a control array) into a typed pointer inside numba code.

Why: compiled real-time code that Python does not call (a PortAudio or JACK callback) reaches
every array it needs through addresses stored in one control array; ``numba.carray`` turns a
typed pointer back into an array view, and these two intrinsics make the typed pointer from
the integer. The arrays behind the addresses are owned, and kept alive, by the Python objects
that stored them.
"""

from __future__ import annotations

from numba import types
from numba.extending import intrinsic


def _pointer_intrinsic(dtype):
    @intrinsic
    def cast(typingctx, addr):
        ptr_type = types.CPointer(dtype)
        sig = ptr_type(types.int64)

        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], context.get_value_type(ptr_type))

        return sig, codegen

    return cast


#: ``f64_ptr(addr)`` / ``f32_ptr(addr)`` / ``i64_ptr(addr)``: the address as a typed pointer.
f64_ptr = _pointer_intrinsic(types.float64)
f32_ptr = _pointer_intrinsic(types.float32)
i64_ptr = _pointer_intrinsic(types.int64)


@intrinsic
def void_ptr(typingctx, addr):
    """The address as a ``void *`` (for external C functions)."""
    sig = types.voidptr(types.int64)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(types.voidptr))

    return sig, codegen
