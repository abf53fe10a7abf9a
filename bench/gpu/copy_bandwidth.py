#!/usr/bin/env python3
"""Measures the GPU's device-to-device copy bandwidth (HBM), the bound that
decode on the GPU is compared with: a batch-1 decode step reads every
weight once, so no step can take less than weight bytes / bandwidth.

The CUDA driver is called through ctypes (libcuda.so.1, as the runtime
loads it with dlopen): no toolkit or Python package needed. A 1 GiB buffer
is copied to another 20 times between two CUDA events, after a warm-up.
Two figures, as bench/README.md explains for the CPU:
  * copy GB/s counting read + written bytes (STREAM's convention, 2 per
    byte copied): the memory system's throughput, the stricter bound;
  * copied GB/s (1 per byte copied).

    copy_bandwidth.py            prints: copy_bandwidth_gbs=<read+write> copied_gbs=<...>
"""

import ctypes
import sys

SIZE = 1 << 30
REPS = 20


def main():
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError as e:
        print(f"copy_bandwidth: error: no CUDA driver (libcuda.so.1): {e}", file=sys.stderr)
        return 1

    def call(name, *args):
        result = getattr(cuda, name)(*args)
        if result != 0:
            raise RuntimeError(f"{name} failed: CUDA error {result}")

    u64 = ctypes.c_uint64
    call("cuInit", 0)
    device, context = ctypes.c_int(), ctypes.c_void_p()
    call("cuDeviceGet", ctypes.byref(device), 0)
    call("cuDevicePrimaryCtxRetain", ctypes.byref(context), device)
    call("cuCtxSetCurrent", context)
    source, target = u64(), u64()
    call("cuMemAlloc_v2", ctypes.byref(source), ctypes.c_size_t(SIZE))
    call("cuMemAlloc_v2", ctypes.byref(target), ctypes.c_size_t(SIZE))
    call("cuMemsetD32_v2", source, ctypes.c_uint(0x3F800000), ctypes.c_size_t(SIZE // 4))
    start, stop = ctypes.c_void_p(), ctypes.c_void_p()
    call("cuEventCreate", ctypes.byref(start), 0)
    call("cuEventCreate", ctypes.byref(stop), 0)
    for _ in range(3):  # warm-up
        call("cuMemcpyDtoD_v2", target, source, ctypes.c_size_t(SIZE))
    call("cuCtxSynchronize")
    call("cuEventRecord", start, None)
    for _ in range(REPS):
        call("cuMemcpyDtoD_v2", target, source, ctypes.c_size_t(SIZE))
    call("cuEventRecord", stop, None)
    call("cuEventSynchronize", stop)
    ms = ctypes.c_float()
    call("cuEventElapsedTime", ctypes.byref(ms), start, stop)
    seconds = ms.value / 1e3
    copied = SIZE * REPS / seconds / 1e9
    print(f"copy_bandwidth_gbs={2 * copied:.1f} copied_gbs={copied:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
