using System.Runtime.InteropServices;
using System.Text;

namespace AmbientNative.Backends.Cuda.Native;

/// <summary>
/// The subset of the CUDA driver API we use, bound by hand to libcuda's exports. Every wrapper checks the
/// returned CUresult and throws <see cref="CudaException"/> naming the call. <see cref="EnsureLoaded"/> throws
/// <see cref="CudaUnavailableException"/> with a one-line reason when the driver is missing or fails cuInit.
/// Versioned exports (_v2) are the ones the C headers map the plain names to since CUDA 4.0.
/// </summary>
internal static unsafe class CudaDriver
{
    public static readonly string[] LibraryNames = ["libcuda.so.1", "libcuda.so"];

    public const int CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 1;
    public const int CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK = 8;
    public const int CU_DEVICE_ATTRIBUTE_CLOCK_RATE = 13;              // kHz
    public const int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    public const int CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE = 36;       // kHz
    public const int CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH = 37; // bits
    public const int CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE = 38;
    public const int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    public const int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    public const int CU_FUNC_ATTRIBUTE_NUM_REGS = 4;
    public const int CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES = 3;
    public const uint CU_STREAM_NON_BLOCKING = 1;

    private static readonly object Gate = new();
    private static bool _attempted;
    private static string? _unavailable;

    private static delegate* unmanaged<uint, int> _cuInit;
    private static delegate* unmanaged<int*, int> _cuDriverGetVersion;
    private static delegate* unmanaged<int, byte**, int> _cuGetErrorName;
    private static delegate* unmanaged<int, byte**, int> _cuGetErrorString;
    private static delegate* unmanaged<int*, int> _cuDeviceGetCount;
    private static delegate* unmanaged<int*, int, int> _cuDeviceGet;
    private static delegate* unmanaged<byte*, int, int, int> _cuDeviceGetName;
    private static delegate* unmanaged<int*, int, int, int> _cuDeviceGetAttribute;
    private static delegate* unmanaged<nuint*, int, int> _cuDeviceTotalMem;
    private static delegate* unmanaged<IntPtr*, int, int> _cuDevicePrimaryCtxRetain;
    private static delegate* unmanaged<int, int> _cuDevicePrimaryCtxRelease;
    private static delegate* unmanaged<IntPtr, int> _cuCtxSetCurrent;
    private static delegate* unmanaged<IntPtr*, int> _cuCtxGetCurrent;
    private static delegate* unmanaged<int> _cuCtxSynchronize;
    private static delegate* unmanaged<ulong*, nuint, int> _cuMemAlloc;
    private static delegate* unmanaged<ulong, int> _cuMemFree;
    private static delegate* unmanaged<nuint*, nuint*, int> _cuMemGetInfo;
    private static delegate* unmanaged<ulong, void*, nuint, IntPtr, int> _cuMemcpyHtoDAsync;
    private static delegate* unmanaged<void*, ulong, nuint, IntPtr, int> _cuMemcpyDtoHAsync;
    private static delegate* unmanaged<ulong, ulong, nuint, IntPtr, int> _cuMemcpyDtoDAsync;
    private static delegate* unmanaged<ulong, uint, nuint, IntPtr, int> _cuMemsetD32Async;
    private static delegate* unmanaged<IntPtr*, uint, int> _cuStreamCreate;
    private static delegate* unmanaged<IntPtr, int> _cuStreamDestroy;
    private static delegate* unmanaged<IntPtr, int> _cuStreamSynchronize;
    private static delegate* unmanaged<IntPtr*, uint, int> _cuEventCreate;
    private static delegate* unmanaged<IntPtr, int> _cuEventDestroy;
    private static delegate* unmanaged<IntPtr, IntPtr, int> _cuEventRecord;
    private static delegate* unmanaged<IntPtr, int> _cuEventSynchronize;
    private static delegate* unmanaged<float*, IntPtr, IntPtr, int> _cuEventElapsedTime;
    private static delegate* unmanaged<IntPtr*, void*, int> _cuModuleLoadData;
    private static delegate* unmanaged<IntPtr, int> _cuModuleUnload;
    private static delegate* unmanaged<IntPtr*, IntPtr, byte*, int> _cuModuleGetFunction;
    private static delegate* unmanaged<int*, int, IntPtr, int> _cuFuncGetAttribute;
    private static delegate* unmanaged<IntPtr, uint, uint, uint, uint, uint, uint, uint, IntPtr, void**, void**, int> _cuLaunchKernel;

    /// <summary>Null when the driver loaded and cuInit succeeded; otherwise why not, in one line.</summary>
    public static string? UnavailableReason
    {
        get { TryLoad(); return _unavailable; }
    }

    public static void EnsureLoaded()
    {
        if (UnavailableReason is { } r) throw new CudaUnavailableException(r);
    }

    private static void TryLoad()
    {
        lock (Gate)
        {
            if (_attempted) return;
            _attempted = true;
            try { _unavailable = Load(); }
            catch (CudaUnavailableException e) { _unavailable = e.Message; }
        }
    }

    private static string? Load()
    {
        var lib = NativeLoader.TryLoad(LibraryNames, ["/usr/lib/x86_64-linux-gnu", "/usr/local/nvidia/lib64", "/usr/lib64", "/usr/lib/wsl/lib"],
            "AMBIENT_LIBCUDA", out var why);
        if (lib == IntPtr.Zero) return $"CUDA driver not found: {why}; no NVIDIA driver on this machine?";
        IntPtr F(params string[] n) => NativeLoader.Export(lib, "libcuda", n);
        _cuInit = (delegate* unmanaged<uint, int>)F("cuInit");
        _cuDriverGetVersion = (delegate* unmanaged<int*, int>)F("cuDriverGetVersion");
        _cuGetErrorName = (delegate* unmanaged<int, byte**, int>)F("cuGetErrorName");
        _cuGetErrorString = (delegate* unmanaged<int, byte**, int>)F("cuGetErrorString");
        _cuDeviceGetCount = (delegate* unmanaged<int*, int>)F("cuDeviceGetCount");
        _cuDeviceGet = (delegate* unmanaged<int*, int, int>)F("cuDeviceGet");
        _cuDeviceGetName = (delegate* unmanaged<byte*, int, int, int>)F("cuDeviceGetName");
        _cuDeviceGetAttribute = (delegate* unmanaged<int*, int, int, int>)F("cuDeviceGetAttribute");
        _cuDeviceTotalMem = (delegate* unmanaged<nuint*, int, int>)F("cuDeviceTotalMem_v2");
        _cuDevicePrimaryCtxRetain = (delegate* unmanaged<IntPtr*, int, int>)F("cuDevicePrimaryCtxRetain");
        _cuDevicePrimaryCtxRelease = (delegate* unmanaged<int, int>)F("cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease");
        _cuCtxSetCurrent = (delegate* unmanaged<IntPtr, int>)F("cuCtxSetCurrent");
        _cuCtxGetCurrent = (delegate* unmanaged<IntPtr*, int>)F("cuCtxGetCurrent");
        _cuCtxSynchronize = (delegate* unmanaged<int>)F("cuCtxSynchronize");
        _cuMemAlloc = (delegate* unmanaged<ulong*, nuint, int>)F("cuMemAlloc_v2");
        _cuMemFree = (delegate* unmanaged<ulong, int>)F("cuMemFree_v2");
        _cuMemGetInfo = (delegate* unmanaged<nuint*, nuint*, int>)F("cuMemGetInfo_v2");
        _cuMemcpyHtoDAsync = (delegate* unmanaged<ulong, void*, nuint, IntPtr, int>)F("cuMemcpyHtoDAsync_v2");
        _cuMemcpyDtoHAsync = (delegate* unmanaged<void*, ulong, nuint, IntPtr, int>)F("cuMemcpyDtoHAsync_v2");
        _cuMemcpyDtoDAsync = (delegate* unmanaged<ulong, ulong, nuint, IntPtr, int>)F("cuMemcpyDtoDAsync_v2");
        _cuMemsetD32Async = (delegate* unmanaged<ulong, uint, nuint, IntPtr, int>)F("cuMemsetD32Async");
        _cuStreamCreate = (delegate* unmanaged<IntPtr*, uint, int>)F("cuStreamCreate");
        _cuStreamDestroy = (delegate* unmanaged<IntPtr, int>)F("cuStreamDestroy_v2");
        _cuStreamSynchronize = (delegate* unmanaged<IntPtr, int>)F("cuStreamSynchronize");
        _cuEventCreate = (delegate* unmanaged<IntPtr*, uint, int>)F("cuEventCreate");
        _cuEventDestroy = (delegate* unmanaged<IntPtr, int>)F("cuEventDestroy_v2");
        _cuEventRecord = (delegate* unmanaged<IntPtr, IntPtr, int>)F("cuEventRecord");
        _cuEventSynchronize = (delegate* unmanaged<IntPtr, int>)F("cuEventSynchronize");
        _cuEventElapsedTime = (delegate* unmanaged<float*, IntPtr, IntPtr, int>)F("cuEventElapsedTime", "cuEventElapsedTime_v2");
        _cuModuleLoadData = (delegate* unmanaged<IntPtr*, void*, int>)F("cuModuleLoadData");
        _cuModuleUnload = (delegate* unmanaged<IntPtr, int>)F("cuModuleUnload");
        _cuModuleGetFunction = (delegate* unmanaged<IntPtr*, IntPtr, byte*, int>)F("cuModuleGetFunction");
        _cuFuncGetAttribute = (delegate* unmanaged<int*, int, IntPtr, int>)F("cuFuncGetAttribute");
        _cuLaunchKernel = (delegate* unmanaged<IntPtr, uint, uint, uint, uint, uint, uint, uint, IntPtr, void**, void**, int>)F("cuLaunchKernel");

        int r = _cuInit(0);
        if (r != 0) return $"CUDA driver found but cuInit failed: {Describe(r)} (no GPU visible to this process?)";
        int count;
        r = _cuDeviceGetCount(&count);
        if (r != 0) return $"cuDeviceGetCount failed: {Describe(r)}";
        if (count == 0) return "CUDA driver found but it reports no devices";
        return null;
    }

    // ---- error handling -----------------------------------------------------------------------------

    public static string ErrorName(int code)
    {
        byte* p = null;
        if (_cuGetErrorName == null || _cuGetErrorName(code, &p) != 0 || p == null) return "CUDA_ERROR_UNKNOWN_CODE";
        return Marshal.PtrToStringAnsi((IntPtr)p) ?? "?";
    }

    public static string ErrorString(int code)
    {
        byte* p = null;
        if (_cuGetErrorString == null || _cuGetErrorString(code, &p) != 0 || p == null) return "unrecognised error code";
        return Marshal.PtrToStringAnsi((IntPtr)p) ?? "?";
    }

    private static string Describe(int code) => $"{ErrorName(code)} ({code}): {ErrorString(code)}";

    public static void Check(int result, string call, string? context = null)
    {
        if (result != 0) throw new CudaException(call, result, ErrorName(result), ErrorString(result), context);
    }

    // ---- wrappers (each checks its status) ------------------------------------------------------------

    public static int DriverVersion() { int v; Check(_cuDriverGetVersion(&v), "cuDriverGetVersion"); return v; }
    public static int DeviceCount() { int c; Check(_cuDeviceGetCount(&c), "cuDeviceGetCount"); return c; }
    public static int DeviceGet(int ordinal) { int d; Check(_cuDeviceGet(&d, ordinal), "cuDeviceGet", $"ordinal {ordinal}"); return d; }

    public static string DeviceName(int dev)
    {
        byte* buf = stackalloc byte[256];
        Check(_cuDeviceGetName(buf, 256, dev), "cuDeviceGetName");
        return Marshal.PtrToStringAnsi((IntPtr)buf) ?? "?";
    }

    public static int DeviceAttribute(int dev, int attribute)
    {
        int v;
        Check(_cuDeviceGetAttribute(&v, attribute, dev), "cuDeviceGetAttribute", $"attribute {attribute}");
        return v;
    }

    public static long DeviceTotalMem(int dev) { nuint b; Check(_cuDeviceTotalMem(&b, dev), "cuDeviceTotalMem"); return (long)b; }

    public static IntPtr PrimaryCtxRetain(int dev) { IntPtr c; Check(_cuDevicePrimaryCtxRetain(&c, dev), "cuDevicePrimaryCtxRetain"); return c; }
    public static void PrimaryCtxRelease(int dev) => Check(_cuDevicePrimaryCtxRelease(dev), "cuDevicePrimaryCtxRelease");
    public static void CtxSetCurrent(IntPtr ctx) => Check(_cuCtxSetCurrent(ctx), "cuCtxSetCurrent");
    public static IntPtr CtxGetCurrent() { IntPtr c; Check(_cuCtxGetCurrent(&c), "cuCtxGetCurrent"); return c; }
    public static void CtxSynchronize() => Check(_cuCtxSynchronize(), "cuCtxSynchronize");

    /// <summary>Raw status, so the allocator can react to CUDA_ERROR_OUT_OF_MEMORY (2) by emptying its cache.</summary>
    public static int MemAllocRaw(out ulong ptr, long bytes) { ulong p; int r = _cuMemAlloc(&p, (nuint)bytes); ptr = p; return r; }
    public static void MemFree(ulong ptr) => Check(_cuMemFree(ptr), "cuMemFree");
    public static (long Free, long Total) MemGetInfo() { nuint f, t; Check(_cuMemGetInfo(&f, &t), "cuMemGetInfo"); return ((long)f, (long)t); }

    public static void MemcpyHtoDAsync(ulong dst, void* src, long bytes, IntPtr stream) =>
        Check(_cuMemcpyHtoDAsync(dst, src, (nuint)bytes, stream), "cuMemcpyHtoDAsync", $"{bytes} bytes");
    public static void MemcpyDtoHAsync(void* dst, ulong src, long bytes, IntPtr stream) =>
        Check(_cuMemcpyDtoHAsync(dst, src, (nuint)bytes, stream), "cuMemcpyDtoHAsync", $"{bytes} bytes");
    public static void MemcpyDtoDAsync(ulong dst, ulong src, long bytes, IntPtr stream) =>
        Check(_cuMemcpyDtoDAsync(dst, src, (nuint)bytes, stream), "cuMemcpyDtoDAsync", $"{bytes} bytes");
    public static void MemsetD32Async(ulong dst, uint value, long count, IntPtr stream) =>
        Check(_cuMemsetD32Async(dst, value, (nuint)count, stream), "cuMemsetD32Async", $"{count} words");

    public static IntPtr StreamCreate(uint flags) { IntPtr s; Check(_cuStreamCreate(&s, flags), "cuStreamCreate"); return s; }
    public static void StreamDestroy(IntPtr s) => Check(_cuStreamDestroy(s), "cuStreamDestroy");
    public static void StreamSynchronize(IntPtr s, string? context = null) => Check(_cuStreamSynchronize(s), "cuStreamSynchronize", context);

    public static IntPtr EventCreate() { IntPtr e; Check(_cuEventCreate(&e, 0), "cuEventCreate"); return e; }
    public static void EventDestroy(IntPtr e) => Check(_cuEventDestroy(e), "cuEventDestroy");
    public static void EventRecord(IntPtr e, IntPtr stream) => Check(_cuEventRecord(e, stream), "cuEventRecord");
    public static void EventSynchronize(IntPtr e) => Check(_cuEventSynchronize(e), "cuEventSynchronize");
    public static float EventElapsedMs(IntPtr start, IntPtr end) { float ms; Check(_cuEventElapsedTime(&ms, start, end), "cuEventElapsedTime"); return ms; }

    public static IntPtr ModuleLoadData(byte[] image, string what)
    {
        IntPtr m;
        fixed (byte* p = image) Check(_cuModuleLoadData(&m, p), "cuModuleLoadData", what);
        return m;
    }

    public static void ModuleUnload(IntPtr m) => Check(_cuModuleUnload(m), "cuModuleUnload");

    public static IntPtr ModuleGetFunction(IntPtr module, string name)
    {
        IntPtr f;
        var bytes = Encoding.ASCII.GetBytes(name + "\0");
        fixed (byte* p = bytes) Check(_cuModuleGetFunction(&f, module, p), "cuModuleGetFunction", name);
        return f;
    }

    public static int FuncAttribute(IntPtr f, int attribute) { int v; Check(_cuFuncGetAttribute(&v, attribute, f), "cuFuncGetAttribute"); return v; }

    public static void LaunchKernel(IntPtr f, (uint X, uint Y, uint Z) grid, (uint X, uint Y, uint Z) block, uint sharedBytes,
        IntPtr stream, void** args, string name) =>
        Check(_cuLaunchKernel(f, grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, sharedBytes, stream, args, null),
            "cuLaunchKernel", $"{name} grid ({grid.X},{grid.Y},{grid.Z}) block ({block.X},{block.Y},{block.Z})");
}
