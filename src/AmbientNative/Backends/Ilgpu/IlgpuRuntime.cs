using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace AmbientNative.Backends.Ilgpu;

/// <summary>
/// An ILGPU context and accelerator, and the group size the grouped kernels launch with. The CPU variant simulates
/// an NVIDIA-shaped device (warp of 32 threads) so that warp and group logic is exercised as it would be on the GPU;
/// it is an emulator for parity tests at small sizes, not a CPU backend (DESIGN.md, "ILGPU facts").
/// </summary>
public sealed class IlgpuRuntime : IDisposable
{
    private readonly Context _context;

    private IlgpuRuntime(Context context, Accelerator accelerator)
    {
        _context = context;
        Accelerator = accelerator;
        // Reductions are tree-shaped over one group; 128 threads (4 warps) keep the CPU emulator's barriers cheap
        // and are a reasonable block for the memory-bound kernels here on a GPU as well.
        GroupSize = Math.Min(GroupReduce.Width, accelerator.MaxNumThreadsPerGroup);
        if (GroupSize < 32 || (GroupSize & (GroupSize - 1)) != 0)
            throw new NotSupportedException($"ILGPU accelerator {accelerator.Name}: group size {GroupSize} must be a power of two ≥ 32.");
    }

    public Accelerator Accelerator { get; }

    /// <summary>Threads per group of every grouped kernel (a power of two, ≥ one warp of 32, ≤ <see cref="GroupReduce.Width"/>).</summary>
    public int GroupSize { get; }

    /// <summary>ILGPU's CPU accelerator shaped like one NVIDIA multiprocessor: warps of 32, 4 warps per group.</summary>
    public static IlgpuRuntime CreateCpu()
    {
        var context = Context.Create(b => b.CPU(new CPUDevice(numThreadsPerWarp: 32, numWarpsPerMultiprocessor: 4, numMultiprocessors: 1)));
        try { return new IlgpuRuntime(context, context.CreateCPUAccelerator(0)); }
        catch { context.Dispose(); throw; }
    }

    /// <summary>
    /// ILGPU's CUDA accelerator for device <paramref name="ordinal"/>. ILGPU creates its own context (not the primary
    /// one); our CUDA backend then runs in it through <see cref="Cuda.CudaContext.Borrow"/> with
    /// <see cref="CudaContextHandle"/> and <see cref="CudaStreamHandle"/>, so both kinds of kernel share memory and
    /// one stream (see CudaDevices, AMBIENT_CUDA_CONTEXT=ilgpu).
    /// </summary>
    public static IlgpuRuntime CreateCuda(int ordinal)
    {
        var context = Context.Create(b => ConfigureCuda(b));
        try { return new IlgpuRuntime(context, context.CreateCudaAccelerator(ordinal)); }
        catch { context.Dispose(); throw; }
    }

    /// <summary>
    /// The CUDA configuration of every ILGPU context we create, shared with the CI test that compiles each kernel to
    /// PTX without a GPU (IlgpuPtxTests). ILGPU.Algorithms supplies what ILGPU's PTX backend lacks: float log and exp
    /// (MathF.Log/Exp in the noise and attention kernels; computed through lg2.approx/ex2.approx).
    /// </summary>
    internal static Context.Builder ConfigureCuda(Context.Builder builder) => builder.Cuda().EnableAlgorithms();

    /// <summary>The CUDA context ILGPU created (only for a CUDA accelerator).</summary>
    public IntPtr CudaContextHandle => AsCuda().NativePtr;

    /// <summary>The stream ILGPU launches on by default (only for a CUDA accelerator).</summary>
    public IntPtr CudaStreamHandle => ((CudaStream)AsCuda().DefaultStream).StreamPtr;

    private CudaAccelerator AsCuda() => Accelerator as CudaAccelerator
        ?? throw new InvalidOperationException($"ILGPU accelerator {Accelerator.Name} is not a CUDA accelerator.");

    public void Dispose()
    {
        Accelerator.Dispose();
        _context.Dispose();
    }
}
