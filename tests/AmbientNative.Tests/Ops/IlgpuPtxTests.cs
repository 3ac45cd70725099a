using System.Reflection;
using AmbientNative.Backends.Ilgpu;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace AmbientNative.Tests.Ops;

/// <summary>
/// Every ILGPU kernel compiles to PTX for the H100 (sm_90 requested) with the configuration the CUDA backend uses. Needs no GPU,
/// so CI runs it: the CPU accelerator runs kernels as .NET code and cannot tell whether ILGPU's PTX backend supports
/// what a kernel calls (it did not, for MathF.Log/Exp, until ILGPU.Algorithms was enabled).
/// </summary>
public class IlgpuPtxTests
{
    private static readonly Type[] IndexTypes = [typeof(Index1D), typeof(Index2D), typeof(Index3D)];

    /// <summary>Every static method named *Kernel in the ILGPU backend's namespace.</summary>
    public static IEnumerable<TestCaseData> Kernels() =>
        typeof(IlgpuRuntime).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(IlgpuRuntime).Namespace)
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Where(m => m.Name.EndsWith("Kernel", StringComparison.Ordinal) && m.ReturnType == typeof(void))
            .OrderBy(m => m.DeclaringType!.Name).ThenBy(m => m.Name)
            .Select(m => new TestCaseData(m).SetArgDisplayNames($"{m.DeclaringType!.Name}.{m.Name}"));

    [Test]
    public void The_kernel_list_finds_every_kernel_file() =>
        // 29 kernels in 12 files on 2026-12-03; fewer means the enumeration broke, not that kernels went away.
        Assert.That(Kernels().Count(), Is.GreaterThanOrEqualTo(29));

    [TestCaseSource(nameof(Kernels))]
    public void Compiles_to_ptx(MethodInfo kernel)
    {
        using var context = Context.Create(b => IlgpuRuntime.ConfigureCuda(b));
        using var backend = new PTXBackend(context, CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null!); // no NVVM: ILGPU's own PTX generator
        // Implicitly grouped kernels take their index first; the others are explicitly grouped (Group.IdxX etc.).
        var parameters = kernel.GetParameters();
        var entry = parameters.Length > 0 && IndexTypes.Contains(parameters[0].ParameterType)
            ? EntryPointDescription.FromImplicitlyGroupedKernel(kernel)
            : EntryPointDescription.FromExplicitlyGroupedKernel(kernel);
        var compiled = (PTXCompiledKernel)backend.Compile(entry, default);
        Assert.That(compiled.PTXAssembly, Does.Contain(".entry"), "a PTX entry point");
        // ILGPU 1.5.3 caps the target at the newest architecture it knows for PTX ISA 8.0 (sm_80); the driver JITs that
        // PTX for the H100's sm_90, as it does when ILGPU loads a kernel on the device.
        Assert.That(compiled.PTXAssembly, Does.Match(@"\.target sm_\d+"));
    }
}
