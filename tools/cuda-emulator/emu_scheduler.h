// Runs one kernel launch on the calling OS thread: every block in turn, every thread of a block as a fiber that
// runs until it reaches a barrier or a warp shuffle and is then suspended until its partners get there.
#pragma once
#include <string>
#include "emu_runtime.h"

struct an_emu_kernel
{
    std::string name;
    void (*entry)(void** params);  // calls the kernel with its by-value arguments
    an_emu_runtime* runtime;       // the built-in variables of the kernel's library
    void (*poison_shared)(void);   // fills the library's __shared__ variables with 0xff bytes
    int max_threads;               // __launch_bounds__, or 1024
};

// Returns "" on success, else what went wrong (a divergent barrier, a partial-warp shuffle, a deadlock).
// Warps run one after another, each as far as it can before the next starts (every other block in reverse order,
// which blocks alternating from launch to launch), so a read that a missing barrier leaves unordered with its write
// sees the write in one order and stale data in the other.
std::string an_emu_run(const an_emu_kernel& k, an_emu_dim3 grid, an_emu_dim3 block, void** params);

// Points a kernel library's runtime at the scheduler's __syncthreads and __shfl_xor_sync.
void an_emu_bind(an_emu_runtime* runtime);
