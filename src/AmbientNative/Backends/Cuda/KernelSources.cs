using System.Reflection;

namespace AmbientNative.Backends.Cuda;

/// <summary>
/// The CUDA C sources of kernels/*.cu and *.cuh, embedded in this assembly (see AmbientNative.csproj) under
/// the logical names "kernels/&lt;file&gt;". Headers are handed to NVRTC in memory, so no file is read at run time.
/// For kernel work on a GPU host without the SDK, AMBIENT_KERNEL_DIR names a folder whose files replace the
/// embedded ones of the same name (the cache key hashes the source, so nothing stale is served).
/// </summary>
public static class KernelSources
{
    private const string Prefix = "kernels/";
    private static readonly Assembly Asm = typeof(KernelSources).Assembly;

    /// <summary>File names (e.g. "conv2d.cu", "common.cuh") of every embedded kernel source.</summary>
    public static IReadOnlyList<string> Files { get; } = Asm.GetManifestResourceNames()
        .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)).Select(n => n[Prefix.Length..]).Order().ToArray();

    public static string Read(string file)
    {
        var dir = Environment.GetEnvironmentVariable("AMBIENT_KERNEL_DIR");
        if (!string.IsNullOrEmpty(dir) && File.Exists(Path.Combine(dir, file))) return File.ReadAllText(Path.Combine(dir, file));
        using var s = Asm.GetManifestResourceStream(Prefix + file)
            ?? throw new FileNotFoundException($"Kernel source '{file}' is not embedded in {Asm.GetName().Name} (have: {string.Join(", ", Files)}).");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    /// <summary>Every embedded header (*.cuh), by include name; each .cu file is compiled with all of them available.</summary>
    public static IReadOnlyDictionary<string, string> Headers() =>
        Files.Where(f => f.EndsWith(".cuh", StringComparison.Ordinal)).ToDictionary(f => f, Read);
}
