#include "emu_scheduler.h"
#include <sys/mman.h>
#include <cstdio>
#include <cstdint>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
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

enum class Wait { None, Barrier, Collective, Done }; // Collective: a warp shuffle, mma or ldmatrix

struct Fiber
{
    void* sp;
    Wait wait;
    unsigned tid; // linear thread index in the block
    an_emu_dim3 idx;
};

enum class Collective { Shuffle, Mma, LdMatrix };

struct MmaFragments { unsigned a[4], b[2]; float c[4], d[4]; };

struct Warp
{
    // Double-buffered by generation: a lane may write the next round before all have read this one.
    unsigned long long slot[2][32];
    MmaFragments mma[2][32];
    unsigned ld[2][32][4]; // ldmatrix: what each lane receives, read by the last lane to arrive
    int arrived;
    unsigned generation;
    Collective kind; // of the round being gathered
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

// The lane's warp, after checking that the warp is whole (a full-mask collective with missing lanes is undefined).
Warp& whole_warp(const char* what)
{
    Block& b = *running;
    Fiber& me = b.fibers[b.current];
    unsigned warp = me.tid / 32;
    if ((warp + 1) * 32 > b.threads)
        fail(std::string(what) + " in a warp of " + std::to_string(b.threads - warp * 32) + " threads (the block has " +
             std::to_string(b.threads) + "): the missing lanes make it undefined");
    return b.warps[warp];
}

// Waits until all 32 lanes of the warp have arrived at a collective of this kind (the last one to arrive runs
// `complete` for the warp first). Returns the buffer the round used.
template <typename Complete>
unsigned gather(Warp& w, Collective kind, const char* what, Complete complete)
{
    Block& b = *running;
    Fiber& me = b.fibers[b.current];
    unsigned buffer = w.generation & 1, warp = me.tid / 32;
    if (w.arrived == 0) w.kind = kind;
    else if (w.kind != kind) fail(std::string(what) + " while other lanes of the warp wait at a different warp collective");
    if (++w.arrived == 32)
    {
        complete(buffer);
        w.arrived = 0;
        w.generation++;
        for (unsigned l = 0; l < 32; l++)
            if (b.fibers[warp * 32 + l].wait == Wait::Collective) b.fibers[warp * 32 + l].wait = Wait::None;
    }
    else
    {
        me.wait = Wait::Collective;
        yield();
    }
    return buffer;
}

unsigned long long shfl_xor(unsigned mask, unsigned long long bits, int lane_mask, int width)
{
    if (mask != 0xffffffffu) fail("__shfl_xor_sync mask " + std::to_string(mask) + ": the emulator models full-warp shuffles only");
    if (width != 32) fail("__shfl_xor_sync width " + std::to_string(width) + ": the emulator models width 32 only");
    Warp& w = whole_warp("__shfl_xor_sync with a full mask");
    unsigned lane = running->fibers[running->current].tid % 32;
    w.slot[w.generation & 1][lane] = bits;
    unsigned buffer = gather(w, Collective::Shuffle, "__shfl_xor_sync", [](unsigned) {});
    return w.slot[buffer][(lane ^ (unsigned)lane_mask) & 31];
}

// D = A·B + C for m16n8k8 with tf32 inputs, from the PTX ISA's fragment layout ("Matrix Fragments for mma.m16n8k8",
// .tf32): g = lane >> 2, t = lane % 4;
//   A (16x8, row):  a0 = A[g][t], a1 = A[g+8][t], a2 = A[g][t+4], a3 = A[g+8][t+4]
//   B (8x8, col):   b0 = B[t][g], b1 = B[t+4][g]
//   C, D (16x8):    c0 = C[g][2t], c1 = C[g][2t+1], c2 = C[g+8][2t], c3 = C[g+8][2t+1]
// The tensor core reads only a tf32 input's top 19 bits; products are summed in fp32 (the order is the hardware's
// business; here k ascending).
void mma_complete(MmaFragments* lanes)
{
    float A[16][8], B[8][8], C[16][8];
    auto tf32 = [](unsigned u) { u &= 0xffffe000u; float f; memcpy(&f, &u, 4); return f; };
    for (int l = 0; l < 32; l++)
    {
        const MmaFragments& f = lanes[l];
        int g = l >> 2, t = l & 3;
        A[g][t] = tf32(f.a[0]); A[g + 8][t] = tf32(f.a[1]); A[g][t + 4] = tf32(f.a[2]); A[g + 8][t + 4] = tf32(f.a[3]);
        B[t][g] = tf32(f.b[0]); B[t + 4][g] = tf32(f.b[1]);
        C[g][2 * t] = f.c[0]; C[g][2 * t + 1] = f.c[1]; C[g + 8][2 * t] = f.c[2]; C[g + 8][2 * t + 1] = f.c[3];
    }
    for (int l = 0; l < 32; l++)
    {
        int g = l >> 2, t = l & 3;
        const int rows[4] = {g, g, g + 8, g + 8}, cols[4] = {2 * t, 2 * t + 1, 2 * t, 2 * t + 1};
        for (int r = 0; r < 4; r++)
        {
            float acc = C[rows[r]][cols[r]];
            for (int k = 0; k < 8; k++) acc = fmaf(A[rows[r]][k], B[k][cols[r]], acc);
            lanes[l].d[r] = acc;
        }
    }
}

void mma_tf32_m16n8k8(float d[4], const unsigned a[4], const unsigned b[2], const float c[4])
{
    Warp& w = whole_warp("mma.sync");
    unsigned lane = running->fibers[running->current].tid % 32;
    MmaFragments& mine = w.mma[w.generation & 1][lane];
    memcpy(mine.a, a, sizeof mine.a);
    memcpy(mine.b, b, sizeof mine.b);
    memcpy(mine.c, c, sizeof mine.c);
    unsigned buffer = gather(w, Collective::Mma, "mma.sync", [&w](unsigned buf) { mma_complete(w.mma[buf]); });
    memcpy(d, w.mma[buffer][lane].d, sizeof w.mma[buffer][lane].d);
}

// ldmatrix .x4 .b16 with 32-bit words, from the PTX ISA ("Warp-level matrix load instruction: ldmatrix"): four 8x8
// matrices of b16, each 8 rows of 16 bytes; lane l gives the address of row l % 8 of matrix l / 8, and receives from
// every matrix j the 32 bits at byte 4 (l % 4) of row l / 4 (b16 elements 2 (l % 4) and 2 (l % 4) + 1). All 32 lanes'
// words are read when the last lane arrives, as the warp executes the instruction at once; a lane that goes on
// first cannot change what another one receives.
void ldmatrix_x4(unsigned r[4], const void* row, int in_shared)
{
    Warp& w = whole_warp("ldmatrix");
    if (!in_shared) fail("ldmatrix: a row address outside the kernel's __shared__ variables");
    if (reinterpret_cast<uintptr_t>(row) % 16 != 0) fail("ldmatrix: a row address not aligned to 16 bytes");
    unsigned lane = running->fibers[running->current].tid % 32;
    w.slot[w.generation & 1][lane] = reinterpret_cast<uintptr_t>(row);
    unsigned buffer = gather(w, Collective::LdMatrix, "ldmatrix", [&w](unsigned buf) {
        for (unsigned l = 0; l < 32; l++)
            for (unsigned j = 0; j < 4; j++)
                memcpy(&w.ld[buf][l][j], reinterpret_cast<const char*>(w.slot[buf][8 * j + l / 4]) + 4 * (l % 4), 4);
    });
    memcpy(r, w.ld[buffer][lane], sizeof w.ld[buffer][lane]);
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
    unsigned barrier = 0, collective = 0;
    for (auto& f : b.fibers) { barrier += f.wait == Wait::Barrier; collective += f.wait == Wait::Collective; }
    char s[200];
    snprintf(s, sizeof s, "%s: block (%u,%u,%u) cannot go on: %u threads wait at __syncthreads, %u at a warp collective, %u returned",
             b.kernel->name.c_str(), b.idx.x, b.idx.y, b.idx.z, barrier, collective, b.done);
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
    // Which parity of block runs in reverse alternates from launch to launch, so a one-block launch gets both orders
    // over a test's launches too.
    static std::atomic<unsigned long long> launches{0};
    const unsigned long long launch = launches++;
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
                // another warp has read the old value, with no barrier between, shows. Every other block goes in reverse.
                bool reverse = (linear ^ launch) & 1;
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
    runtime->mma_tf32_m16n8k8 = &mma_tf32_m16n8k8;
    runtime->ldmatrix_x4 = &ldmatrix_x4;
}
