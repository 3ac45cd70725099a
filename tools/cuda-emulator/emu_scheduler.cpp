#include "emu_scheduler.h"
#include <sys/mman.h>
#include <cstdio>
#include <cstdint>
#include <algorithm>
#include <vector>

#if !defined(__x86_64__) || !defined(__linux__)
#error "the CUDA emulator switches stacks with x86-64 System V assembly"
#endif

// Saves the callee-saved registers and the stack pointer in *save, loads the other fiber's. No signal mask and no
// floating-point state: kernels change neither, and a swapcontext would cost a system call per switch.
extern "C" void an_emu_switch(void** save, void* load);
asm(R"(
    .text
    .globl an_emu_switch
    .hidden an_emu_switch
    .type an_emu_switch, @function
an_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size an_emu_switch, .-an_emu_switch
)");

namespace {

enum class Wait { None, Barrier, Shuffle, Done };

struct Fiber
{
    void* sp;
    Wait wait;
    unsigned tid; // linear thread index in the block
    an_emu_dim3 idx;
};

struct Warp
{
    unsigned long long slot[2][32]; // double-buffered by generation: a lane may write the next round before all have read
    int arrived;
    unsigned generation;
};

struct Block
{
    const an_emu_kernel* kernel;
    void** params;
    an_emu_dim3 idx;
    unsigned threads;
    std::vector<Fiber> fibers;
    std::vector<Warp> warps;
    unsigned at_barrier, done;
    unsigned current;
    void* scheduler_sp;
    std::string error;
};

constexpr size_t StackBytes = 256 << 10;
constexpr size_t GuardBytes = 4096;

// Fiber stacks of this OS thread, each with an inaccessible page below it so an overflow faults at once.
// initial-exec: a plain %fs-relative load instead of a __tls_get_addr call per emulated barrier and shuffle.
__attribute__((tls_model("initial-exec"))) thread_local std::vector<char*> stacks;
__attribute__((tls_model("initial-exec"))) thread_local Block* running;

char* stack(unsigned i)
{
    while (stacks.size() <= i)
    {
        void* p = mmap(nullptr, StackBytes + GuardBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return nullptr;
        mprotect(p, GuardBytes, PROT_NONE);
        stacks.push_back(static_cast<char*>(p));
    }
    return stacks[i];
}

std::string where(const Block& b, const Fiber& f)
{
    char s[160];
    snprintf(s, sizeof s, "%s: thread (%u,%u,%u) of block (%u,%u,%u)", b.kernel->name.c_str(), f.idx.x, f.idx.y, f.idx.z,
             b.idx.x, b.idx.y, b.idx.z);
    return s;
}

void yield()
{
    Block& b = *running;
    an_emu_switch(&b.fibers[b.current].sp, b.scheduler_sp);
}

// Records the first error of the block and suspends this thread for good (the scheduler resumes no one after it).
[[noreturn]] void fail(const std::string& what)
{
    Block& b = *running;
    if (b.error.empty()) b.error = where(b, b.fibers[b.current]) + ": " + what;
    yield();
    __builtin_trap();
}

void fiber_main()
{
    Block& b = *running;
    b.kernel->entry(b.params);
    Fiber& f = b.fibers[b.current];
    f.wait = Wait::Done;
    b.done++;
    if (b.at_barrier > 0)
        fail("returned while " + std::to_string(b.at_barrier) + " threads of its block wait at __syncthreads (divergent barrier)");
    yield();
    __builtin_trap();
}

void syncthreads()
{
    Block& b = *running;
    if (b.done > 0)
        fail("__syncthreads after " + std::to_string(b.done) + " threads of its block returned (divergent barrier)");
    if (++b.at_barrier == b.threads)
    {
        b.at_barrier = 0;
        for (auto& f : b.fibers) if (f.wait == Wait::Barrier) f.wait = Wait::None;
        return;
    }
    b.fibers[b.current].wait = Wait::Barrier;
    yield();
}

unsigned long long shfl_xor(unsigned mask, unsigned long long bits, int lane_mask, int width)
{
    Block& b = *running;
    Fiber& me = b.fibers[b.current];
    if (mask != 0xffffffffu) fail("__shfl_xor_sync mask " + std::to_string(mask) + ": the emulator models full-warp shuffles only");
    if (width != 32) fail("__shfl_xor_sync width " + std::to_string(width) + ": the emulator models width 32 only");
    unsigned warp = me.tid / 32, lane = me.tid % 32;
    if ((warp + 1) * 32 > b.threads)
        fail("__shfl_xor_sync with a full mask in a warp of " + std::to_string(b.threads - warp * 32) +
             " threads (the block has " + std::to_string(b.threads) + "): the missing lanes make it undefined");
    Warp& w = b.warps[warp];
    unsigned buffer = w.generation & 1;
    w.slot[buffer][lane] = bits;
    if (++w.arrived == 32)
    {
        w.arrived = 0;
        w.generation++;
        for (unsigned l = 0; l < 32; l++)
            if (b.fibers[warp * 32 + l].wait == Wait::Shuffle) b.fibers[warp * 32 + l].wait = Wait::None;
    }
    else
    {
        me.wait = Wait::Shuffle;
        yield();
    }
    return w.slot[buffer][(lane ^ (unsigned)lane_mask) & 31];
}

void start(Fiber& f, char* base)
{
    auto* top = reinterpret_cast<uintptr_t*>(base + GuardBytes + StackBytes);
    *--top = 0;                                        // where fiber_main's return address would be (never used)
    *--top = reinterpret_cast<uintptr_t>(&fiber_main); // an_emu_switch "returns" into fiber_main
    for (int r = 0; r < 6; r++) *--top = 0;            // rbp rbx r12 r13 r14 r15
    f.sp = top;
    f.wait = Wait::None;
}

std::string deadlock(const Block& b)
{
    unsigned barrier = 0, shuffle = 0;
    for (auto& f : b.fibers) { barrier += f.wait == Wait::Barrier; shuffle += f.wait == Wait::Shuffle; }
    char s[200];
    snprintf(s, sizeof s, "%s: block (%u,%u,%u) cannot go on: %u threads wait at __syncthreads, %u at __shfl_xor_sync, %u returned",
             b.kernel->name.c_str(), b.idx.x, b.idx.y, b.idx.z, barrier, shuffle, b.done);
    return s;
}

} // namespace

std::string an_emu_run(const an_emu_kernel& k, an_emu_dim3 grid, an_emu_dim3 block, void** params)
{
    unsigned threads = block.x * block.y * block.z;
    if (!stack(threads - 1)) return "out of memory for " + std::to_string(threads) + " fiber stacks";
    Block b{};
    b.kernel = &k;
    b.params = params;
    b.threads = threads;
    b.fibers.resize(threads);
    b.warps.resize((threads + 31) / 32);
    an_emu_runtime& rt = *k.runtime;
    rt.blockDim = block;
    rt.gridDim = grid;
    Block* outer = running;
    running = &b;
    unsigned long long linear = 0;
    for (unsigned z = 0; z < grid.z && b.error.empty(); z++)
        for (unsigned y = 0; y < grid.y && b.error.empty(); y++)
            for (unsigned x = 0; x < grid.x && b.error.empty(); x++, linear++)
            {
                b.idx = {x, y, z};
                rt.blockIdx = b.idx;
                b.at_barrier = b.done = 0;
                for (auto& w : b.warps) w = Warp{};
                for (unsigned t = 0; t < threads; t++)
                {
                    Fiber& f = b.fibers[t];
                    f.tid = t;
                    f.idx = {t % block.x, t / block.x % block.y, t / (block.x * block.y)};
                    start(f, stacks[t]);
                }
                k.poison_shared();
                // Warp by warp: each warp runs until all its threads wait at __syncthreads (or have returned) before
                // the next one starts, the most skewed schedule a GPU may pick, so a write that one warp makes before
                // another warp has read the old value, with no barrier between, shows. Odd blocks go in reverse.
                bool reverse = linear & 1;
                unsigned warps = (threads + 31) / 32;
                while (b.done < threads && b.error.empty())
                {
                    bool ran = false;
                    for (unsigned nw = 0; nw < warps && b.error.empty(); nw++)
                    {
                        unsigned w = reverse ? warps - 1 - nw : nw;
                        unsigned first = w * 32, count = std::min(32u, threads - first);
                        for (bool again = true; again && b.error.empty();)
                        {
                            again = false;
                            for (unsigned nl = 0; nl < count && b.error.empty(); nl++)
                            {
                                unsigned t = first + (reverse ? count - 1 - nl : nl);
                                Fiber& f = b.fibers[t];
                                if (f.wait != Wait::None) continue;
                                b.current = t;
                                rt.threadIdx = f.idx;
                                an_emu_switch(&b.scheduler_sp, f.sp);
                                ran = again = true;
                            }
                        }
                    }
                    if (!ran && b.error.empty()) b.error = deadlock(b);
                }
            }
    running = outer;
    return b.error;
}

void an_emu_bind(an_emu_runtime* runtime)
{
    runtime->syncthreads = &syncthreads;
    runtime->shfl_xor = &shfl_xor;
}
