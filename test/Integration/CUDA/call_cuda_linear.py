"""Calls libdensessm_runtime.so's _mlir_ciface_densessm_cuda_linear_f32 (the
CUDA host code's projection entry point) directly, as host code would, on
small host buffers, and prints y afterwards. Used on machines without a GPU
(cuda-linear-without-gpu.test): the call must report why it cannot run,
through the mgpu* error path, and leave y alone, not crash.

usage: call_cuda_linear.py BUILD_TOOL
  BUILD_TOOL: a tool of the build (bin/densessm-opt): the runtime library is
  its bin/'s sibling lib/libdensessm_runtime.so
"""
import ctypes
import os
import sys


def descriptor(buffer, sizes):
    """An MLIR memref descriptor of f32 over `buffer`, row-major."""
    rank = len(sizes)

    class Descriptor(ctypes.Structure):
        _fields_ = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
                    ("offset", ctypes.c_int64), ("sizes", ctypes.c_int64 * rank),
                    ("strides", ctypes.c_int64 * rank)]

    strides = [1] * rank
    for d in range(rank - 2, -1, -1):
        strides[d] = strides[d + 1] * sizes[d + 1]
    pointer = ctypes.cast(buffer, ctypes.c_void_p)
    return Descriptor(pointer, pointer, 0, (ctypes.c_int64 * rank)(*sizes),
                      (ctypes.c_int64 * rank)(*strides))


def main(argv):
    library = os.path.join(os.path.dirname(os.path.abspath(argv[1])), "..", "lib",
                           "libdensessm_runtime.so")
    runtime = ctypes.CDLL(library)
    batch, length, inputs, outputs = 1, 2, 3, 4
    y = (ctypes.c_float * (batch * length * outputs))(*[0.5] * (batch * length * outputs))
    x = (ctypes.c_float * (batch * length * inputs))(*[1.0] * (batch * length * inputs))
    w = (ctypes.c_float * (outputs * inputs))(*[2.0] * (outputs * inputs))
    descriptors = [descriptor(y, [batch, length, outputs]),
                   descriptor(x, [batch, length, inputs]),
                   descriptor(w, [outputs, inputs])]
    runtime._mlir_ciface_densessm_cuda_linear_f32(*[ctypes.byref(d) for d in descriptors])
    sys.stderr.flush()
    print("returned, y =", " ".join(f"{v:g}" for v in y))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
