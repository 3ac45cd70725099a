#!/usr/bin/env python3
"""Compile one kernels/*.cu file to PTX with a given NVRTC library, with the options CudaModules uses.

usage: nvrtc_ptx.py LIBNVRTC KERNEL_DIR FILE.cu ARCH OUT.ptx    (ARCH e.g. compute_90)

Used by tools/kernel-resources.sh, which feeds the PTX to ptxas to count registers and spills without a GPU.
The headers given to NVRTC are every *.cuh of KERNEL_DIR, as KernelSources.Headers() gives them.
Exit status: 0 done, 2 NVRTC rejected the source (the kernel's fault), 3 the tool itself could not run.
"""
import ctypes
import os
import sys


def main() -> int:
    lib_path, kernel_dir, name, arch, out = sys.argv[1:6]
    try:
        nvrtc = ctypes.CDLL(lib_path)
    except OSError as e:
        print(f"cannot load NVRTC from {lib_path}: {e}", file=sys.stderr)
        return 3
    source = open(os.path.join(kernel_dir, name), "rb").read()
    header_names = sorted(f for f in os.listdir(kernel_dir) if f.endswith(".cuh"))
    headers = [open(os.path.join(kernel_dir, h), "rb").read() for h in header_names]
    count = len(headers)
    program = ctypes.c_void_p()
    check(nvrtc, nvrtc.nvrtcCreateProgram(ctypes.byref(program), source, name.encode(), count,
                                          (ctypes.c_char_p * count)(*headers),
                                          (ctypes.c_char_p * count)(*[h.encode() for h in header_names])),
          "nvrtcCreateProgram", name)
    # Must match CudaModules.Options (without AMBIENT_NVRTC_LINEINFO).
    options = [f"--gpu-architecture={arch}".encode(), b"-std=c++17"]
    rc = nvrtc.nvrtcCompileProgram(program, len(options), (ctypes.c_char_p * len(options))(*options))
    size = ctypes.c_size_t()
    nvrtc.nvrtcGetProgramLogSize(program, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    nvrtc.nvrtcGetProgramLog(program, log)
    if rc != 0:
        print(f"{name}: NVRTC could not compile it:\n{log.value.decode(errors='replace')}", file=sys.stderr)
        return 2
    nvrtc.nvrtcGetPTXSize(program, ctypes.byref(size))
    ptx = ctypes.create_string_buffer(size.value)
    check(nvrtc, nvrtc.nvrtcGetPTX(program, ptx), "nvrtcGetPTX", name)
    with open(out, "wb") as f:
        f.write(ptx.value)
    return 0


def check(nvrtc, rc: int, call: str, name: str) -> None:
    if rc != 0:
        nvrtc.nvrtcGetErrorString.restype = ctypes.c_char_p
        print(f"{name}: {call} failed: {nvrtc.nvrtcGetErrorString(rc).decode()}", file=sys.stderr)
        sys.exit(3)


if __name__ == "__main__":
    sys.exit(main())
