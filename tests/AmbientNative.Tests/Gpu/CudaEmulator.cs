using System.Reflection;

namespace AmbientNative.Tests.Gpu;

/// <summary>
/// Builds tools/cuda-emulator (embedded in this assembly) with clang 14: one shared library that stands in for both
/// libcuda and NVRTC, running the kernels of kernels/*.cu on the CPU. What it checks and what it cannot: see
/// docs/ARCHITECTURE-gpu.md, "The CUDA emulator".
/// </summary>
internal static class CudaEmulator
{
    /// <summary>The name the emulated device reports (cuDeviceGetName).</summary>
    public const string DeviceName = "AmbientNative CUDA emulator (CPU)";

    private const string Prefix = "cuda-emulator/";

    /// <summary>True when this process runs on the emulator rather than on a GPU.</summary>
    public static bool IsActive(AmbientNative.Backends.Cuda.CudaBackend backend) => backend.Context.Info.Name == DeviceName;

    /// <summary>
    /// Compiles the emulator into a new folder under <paramref name="directory"/>; returns the library's path and the
    /// C++ compiler command its NVRTC stand-in compiles kernels with ($AMBIENT_EMU_CXX). Assert.Ignore without clang 14.
    /// </summary>
    public static (string Library, string Cxx) Build(string directory)
    {
        var clang = ClangCuda.RequireClang14();
        var asm = Assembly.GetExecutingAssembly();
        var sources = new List<string>();
        foreach (var name in asm.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            var file = Path.Combine(directory, name[Prefix.Length..]);
            using (var s = asm.GetManifestResourceStream(name)!)
            using (var f = File.Create(file)) s.CopyTo(f);
            if (file.EndsWith(".cpp", StringComparison.Ordinal)) sources.Add(file);
        }
        Assert.That(sources, Has.Count.EqualTo(3), "the emulator's sources are not all embedded");
        var library = Path.Combine(directory, "libcuda_emulator.so");
        var (exit, log) = ClangCuda.Run(clang,
            ["--driver-mode=g++", "-std=c++17", "-O2", "-fPIC", "-shared", "-Wall", "-Wextra", "-Werror",
             $"-DAN_EMU_INCLUDE_DIR=\"{directory}\"", .. sources, "-o", library, "-ldl"], directory);
        Assert.That(exit, Is.Zero, $"the CUDA emulator did not build:\n{log}");
        return (library, $"'{clang}' --driver-mode=g++");
    }
}
