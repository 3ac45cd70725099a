// The CUDA driver API calls AmbientNative binds (Backends/Cuda/Native/CudaDriver.cs), over host memory: one emulated
// device, every stream synchronous, modules are kernel libraries built by emu_nvrtc.cpp, launches run on the CPU
// through emu_scheduler.cpp. Device pointers are host addresses. Load it with AMBIENT_LIBCUDA=<this library>.
#include <dlfcn.h>
#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include "emu_image.h"
#include "emu_scheduler.h"

namespace {

enum : int
{
    SUCCESS = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, NOT_INITIALIZED = 3, INVALID_DEVICE = 101, INVALID_IMAGE = 200,
    INVALID_HANDLE = 400, NOT_FOUND = 500, LAUNCH_OUT_OF_RESOURCES = 701, LAUNCH_FAILED = 719,
};

struct Module { void* library; an_emu_runtime* runtime; void (*poison_shared)(void); };

std::mutex gate; // one launch or copy at a time: the device has one queue
bool initialised;
int context_token, stream_token; // handles are addresses of these
std::map<unsigned long long, size_t> allocations; // address handed out -> bytes asked for
size_t bytes_in_use;

// Every allocation sits between two guard bands of 0xff bytes (NaN as float): a kernel that reads past either end
// reads NaN, and one that writes there is caught after its launch (check_guards), naming the kernel and the block.
// 256 bytes keep the address 256-aligned, as cuMemAlloc's are.
constexpr size_t Guard = 256;

unsigned char* base_of(unsigned long long p) { return (unsigned char*)p - Guard; }

// The first allocation whose guard bands a launch wrote into, described; "" when none. Restores the bands.
std::string check_guards()
{
    std::string found;
    for (auto& [p, bytes] : allocations)
    {
        unsigned char* head = base_of(p);
        unsigned char* tail = (unsigned char*)p + bytes;
        for (size_t i = 0; i < Guard; i++)
        {
            bool before = head[i] != 0xff, after = tail[i] != 0xff;
            if ((before || after) && found.empty())
            {
                char s[200];
                snprintf(s, sizeof s, "wrote %s a %zu-byte allocation at 0x%llx (byte %zu %s it)", before ? "before the start of" : "past the end of",
                         bytes, p, before ? Guard - i : i, before ? "before" : "after");
                found = s;
            }
            head[i] = tail[i] = 0xff;
        }
    }
    return found;
}
constexpr size_t TotalBytes = 8ull << 30;
thread_local std::string last_launch_error;

// AMBIENT_EMU_PROFILE=1: per kernel, launches, blocks, threads and host milliseconds, printed to stderr at exit.
struct KernelProfile { long long launches, blocks, threads; double ms; };
struct Profile
{
    bool on = getenv("AMBIENT_EMU_PROFILE") && strcmp(getenv("AMBIENT_EMU_PROFILE"), "1") == 0;
    std::map<std::string, KernelProfile> kernels;
    ~Profile()
    {
        if (!on) return;
        fprintf(stderr, "cuda emulator profile: kernel, launches, blocks, threads, ms\n");
        for (auto& [name, k] : kernels)
            fprintf(stderr, "  %-32s %8lld %10lld %12lld %10.1f\n", name.c_str(), k.launches, k.blocks, k.threads, k.ms);
    }
} profile;

// Is [p, p + bytes) inside one live allocation? Host copies are checked; kernel accesses are not.
bool inside(unsigned long long p, size_t bytes)
{
    auto it = allocations.upper_bound(p);
    if (it == allocations.begin()) return false;
    --it;
    return p >= it->first && p + bytes <= it->first + it->second;
}

struct ErrorText { int code; const char* name; const char* text; };

const ErrorText* describe(int code)
{
    static const ErrorText table[] = {
        {SUCCESS, "CUDA_SUCCESS", "no error"},
        {INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
        {OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
        {NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
        {INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
        {INVALID_IMAGE, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid (not built by the emulator's NVRTC)"},
        {INVALID_HANDLE, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
        {NOT_FOUND, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
        {LAUNCH_OUT_OF_RESOURCES, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "too many resources requested for launch (block larger than __launch_bounds__)"},
        {LAUNCH_FAILED, "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"},
    };
    for (auto& e : table) if (e.code == code) return &e;
    return nullptr;
}

double now_ms()
{
    using namespace std::chrono;
    return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

} // namespace

extern "C" {

int cuInit(unsigned) { initialised = true; return SUCCESS; }
int cuDriverGetVersion(int* v) { *v = 12080; return SUCCESS; }

int cuGetErrorName(int code, const char** s)
{
    const ErrorText* e = describe(code);
    *s = e ? e->name : nullptr;
    return e ? SUCCESS : INVALID_VALUE;
}

int cuGetErrorString(int code, const char** s)
{
    const ErrorText* e = describe(code);
    *s = !e ? nullptr : code == LAUNCH_FAILED && !last_launch_error.empty() ? last_launch_error.c_str() : e->text;
    return e ? SUCCESS : INVALID_VALUE;
}

int cuDeviceGetCount(int* n) { if (!initialised) return NOT_INITIALIZED; *n = 1; return SUCCESS; }
int cuDeviceGet(int* d, int ordinal) { if (ordinal != 0) return INVALID_DEVICE; *d = 0; return SUCCESS; }

int cuDeviceGetName(char* name, int length, int dev)
{
    if (dev != 0) return INVALID_DEVICE;
    snprintf(name, (size_t)length, "AmbientNative CUDA emulator (CPU)");
    return SUCCESS;
}

int cuDeviceGetAttribute(int* v, int attribute, int dev)
{
    if (dev != 0) return INVALID_DEVICE;
    switch (attribute)
    {
        case 1: *v = 1024; return SUCCESS;          // max threads per block
        case 13: *v = 1000000; return SUCCESS;      // clock rate, kHz
        case 16: *v = 2; return SUCCESS;            // SMs: few, so grid-stride loops go round more than once
        case 36: *v = 1000000; return SUCCESS;      // memory clock, kHz
        case 37: *v = 64; return SUCCESS;           // memory bus width, bits
        case 38: *v = 1 << 20; return SUCCESS;      // L2 bytes
        case 75: *v = 9; return SUCCESS;            // compute capability 9.0
        case 76: *v = 0; return SUCCESS;
        default: *v = 0; return SUCCESS;
    }
}

int cuDeviceTotalMem_v2(size_t* bytes, int dev) { if (dev != 0) return INVALID_DEVICE; *bytes = TotalBytes; return SUCCESS; }
int cuDevicePrimaryCtxRetain(void** ctx, int dev) { if (dev != 0) return INVALID_DEVICE; *ctx = &context_token; return SUCCESS; }
int cuDevicePrimaryCtxRelease_v2(int dev) { return dev == 0 ? SUCCESS : INVALID_DEVICE; }
int cuCtxSetCurrent(void*) { return SUCCESS; }
int cuCtxGetCurrent(void** ctx) { *ctx = &context_token; return SUCCESS; }
int cuCtxSynchronize() { return SUCCESS; }

int cuMemAlloc_v2(unsigned long long* p, size_t bytes)
{
    std::lock_guard<std::mutex> lock(gate);
    if (bytes == 0) return INVALID_VALUE;
    if (bytes_in_use + bytes > TotalBytes) return OUT_OF_MEMORY;
    void* q = nullptr;
    size_t padded = (bytes + 3) / 4 * 4; // whole words, so the tail band starts where the last float ends
    if (posix_memalign(&q, 256, padded + 2 * Guard) != 0) return OUT_OF_MEMORY;
    memset(q, 0xff, padded + 2 * Guard); // fresh device memory is garbage on a GPU: make it NaN here
    *p = (unsigned long long)((unsigned char*)q + Guard);
    bytes = padded;
    allocations[*p] = bytes;
    bytes_in_use += bytes;
    return SUCCESS;
}

int cuMemFree_v2(unsigned long long p)
{
    std::lock_guard<std::mutex> lock(gate);
    auto it = allocations.find(p);
    if (it == allocations.end()) return INVALID_VALUE;
    bytes_in_use -= it->second;
    allocations.erase(it);
    free(base_of(p));
    return SUCCESS;
}

int cuMemGetInfo_v2(size_t* free_bytes, size_t* total)
{
    std::lock_guard<std::mutex> lock(gate);
    *free_bytes = TotalBytes - bytes_in_use;
    *total = TotalBytes;
    return SUCCESS;
}

int cuMemcpyHtoDAsync_v2(unsigned long long dst, const void* src, size_t bytes, void*)
{
    std::lock_guard<std::mutex> lock(gate);
    if (!inside(dst, bytes)) return INVALID_VALUE;
    memcpy((void*)dst, src, bytes);
    return SUCCESS;
}

int cuMemcpyDtoHAsync_v2(void* dst, unsigned long long src, size_t bytes, void*)
{
    std::lock_guard<std::mutex> lock(gate);
    if (!inside(src, bytes)) return INVALID_VALUE;
    memcpy(dst, (const void*)src, bytes);
    return SUCCESS;
}

int cuMemcpyDtoDAsync_v2(unsigned long long dst, unsigned long long src, size_t bytes, void*)
{
    std::lock_guard<std::mutex> lock(gate);
    if (!inside(dst, bytes) || !inside(src, bytes)) return INVALID_VALUE;
    memmove((void*)dst, (const void*)src, bytes);
    return SUCCESS;
}

int cuMemsetD32Async(unsigned long long dst, unsigned value, size_t count, void*)
{
    std::lock_guard<std::mutex> lock(gate);
    if (dst % 4 != 0 || !inside(dst, 4 * count)) return INVALID_VALUE;
    auto* p = (unsigned*)dst;
    for (size_t i = 0; i < count; i++) p[i] = value;
    return SUCCESS;
}

int cuStreamCreate(void** s, unsigned) { *s = &stream_token; return SUCCESS; }
int cuStreamDestroy_v2(void*) { return SUCCESS; }
int cuStreamSynchronize(void*) { return SUCCESS; }

// Events hold the host time at which they were recorded; every stream is synchronous, so that is when the work before them ended.
int cuEventCreate(void** e, unsigned) { *e = new double(0); return SUCCESS; }
int cuEventDestroy_v2(void* e) { delete (double*)e; return SUCCESS; }
int cuEventRecord(void* e, void*) { *(double*)e = now_ms(); return SUCCESS; }
int cuEventSynchronize(void*) { return SUCCESS; }
int cuEventElapsedTime(float* ms, void* start, void* end) { *ms = (float)(*(double*)end - *(double*)start); return SUCCESS; }

int cuModuleLoadData(void** module, const void* image)
{
    size_t bytes;
    const unsigned char* library = an_emu_image_library(image, &bytes);
    if (!library) return INVALID_IMAGE;
    char path[] = "/tmp/ambient-emu-kernel-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return OUT_OF_MEMORY;
    bool written = write(fd, library, bytes) == (ssize_t)bytes;
    close(fd);
    void* h = written ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : nullptr;
    unlink(path);
    if (!h) { fprintf(stderr, "cuda emulator: %s\n", dlerror()); return INVALID_IMAGE; }
    auto* runtime = (an_emu_runtime*)dlsym(h, "an_emu_rt");
    auto poison = (void (*)(void))dlsym(h, "an_emu_poison_shared");
    if (!runtime || !poison) { dlclose(h); return INVALID_IMAGE; }
    an_emu_bind(runtime);
    *module = new Module{h, runtime, poison};
    return SUCCESS;
}

int cuModuleUnload(void* module)
{
    auto* m = (Module*)module;
    dlclose(m->library);
    delete m;
    return SUCCESS;
}

int cuModuleGetFunction(void** function, void* module, const char* name)
{
    auto* m = (Module*)module;
    auto entry = (void (*)(void**))dlsym(m->library, (std::string("an_emu_entry_") + name).c_str());
    if (!entry) return NOT_FOUND;
    auto* bounds = (const int*)dlsym(m->library, (std::string("an_emu_bounds_") + name).c_str());
    *function = new an_emu_kernel{name, entry, m->runtime, m->poison_shared, bounds ? *bounds : 1024};
    return SUCCESS; // kept for the life of the process, like the module's functions on a GPU
}

int cuFuncGetAttribute(int* v, int attribute, void* function)
{
    auto* k = (an_emu_kernel*)function;
    *v = attribute == 0 ? k->max_threads : 0; // registers, local and shared bytes: none on the CPU
    return SUCCESS;
}

int cuLaunchKernel(void* function, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                   unsigned shared_bytes, void*, void** params, void** extra)
{
    auto* k = (an_emu_kernel*)function;
    if (!k) return INVALID_HANDLE;
    // The limits a GPU enforces, so the emulator rejects the launches an H100 would.
    if (gx == 0 || gy == 0 || gz == 0 || bx == 0 || by == 0 || bz == 0) return INVALID_VALUE;
    if (gx > 0x7fffffffu || gy > 65535 || gz > 65535 || bx > 1024 || by > 1024 || bz > 64) return INVALID_VALUE;
    unsigned long long threads = 1ull * bx * by * bz;
    if (threads > 1024) return INVALID_VALUE;
    if (threads > (unsigned long long)k->max_threads) return LAUNCH_OUT_OF_RESOURCES;
    if (shared_bytes != 0 || extra != nullptr || params == nullptr) return INVALID_VALUE; // our kernels use neither
    std::lock_guard<std::mutex> lock(gate);
    double t0 = profile.on ? now_ms() : 0;
    std::string error = an_emu_run(*k, {gx, gy, gz}, {bx, by, bz}, params);
    if (error.empty())
    {
        std::string guard = check_guards();
        if (!guard.empty()) error = k->name + ": " + guard;
    }
    if (profile.on)
    {
        auto& p = profile.kernels[k->name];
        long long blocks = 1ll * gx * gy * gz;
        p.launches++;
        p.blocks += blocks;
        p.threads += blocks * (long long)threads;
        p.ms += now_ms() - t0;
    }
    if (error.empty()) return SUCCESS;
    last_launch_error = "unspecified launch failure (emulator: " + error + ")";
    return LAUNCH_FAILED;
}

} // extern "C"
