using System.Collections.Concurrent;
using AmbientNative.Backends.Cuda.Native;

namespace AmbientNative.Backends.Cuda;

/// <summary>A loaded kernel: its handle and name (for error messages), and what the compiler gave it.</summary>
public sealed record CudaKernel(IntPtr Handle, string Name, int Registers, int LocalBytes);

/// <summary>
/// Compiles kernels/*.cu with NVRTC for this device's architecture (through the <see cref="KernelCache"/>),
/// loads each module once into the context and looks kernels up by name.
/// </summary>
public sealed class CudaModules(CudaContext context, KernelCache cache)
{
    private readonly ConcurrentDictionary<string, IntPtr> _modules = new();
    private readonly ConcurrentDictionary<(string, string), CudaKernel> _kernels = new();

    /// <summary>
    /// NVRTC options for every kernel file. AMBIENT_NVRTC_LINEINFO=1 adds -lineinfo (source lines in
    /// compute-sanitizer and ncu reports); it is off by default because NVRTC 11.8 recurses without end
    /// compiling conv2d.cu with it (seen here; 12.x and 13.x not checked).
    /// </summary>
    public static IReadOnlyList<string> Options(string arch) =>
        Environment.GetEnvironmentVariable("AMBIENT_NVRTC_LINEINFO") == "1"
            ? [$"--gpu-architecture={arch}", "-std=c++17", "-lineinfo"]
            : [$"--gpu-architecture={arch}", "-std=c++17"];

    public KernelCache Cache => cache;

    /// <summary>Compiles (or fetches from the cache) the CUBIN of one embedded .cu file for <paramref name="arch"/>.</summary>
    public static byte[] Image(KernelCache cache, string file, string arch)
    {
        var source = KernelSources.Read(file);
        var headers = KernelSources.Headers();
        var options = Options(arch);
        var (maj, min) = Nvrtc.Version();
        var key = KernelCache.Key(source, headers, options, arch, $"{maj}.{min}");
        return cache.GetOrCompile(Path.GetFileNameWithoutExtension(file) + "-" + arch, key,
            () => Nvrtc.Compile(file, source, headers, options, cubin: true).Image);
    }

    public CudaKernel Get(string file, string kernel) => _kernels.GetOrAdd((file, kernel), k =>
    {
        var module = _modules.GetOrAdd(k.Item1, f =>
        {
            context.MakeCurrent();
            return CudaDriver.ModuleLoadData(Image(cache, f, context.Info.Arch), f);
        });
        context.MakeCurrent();
        var fn = CudaDriver.ModuleGetFunction(module, k.Item2);
        return new CudaKernel(fn, k.Item2, CudaDriver.FuncAttribute(fn, CudaDriver.CU_FUNC_ATTRIBUTE_NUM_REGS),
            CudaDriver.FuncAttribute(fn, CudaDriver.CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES));
    });
}
