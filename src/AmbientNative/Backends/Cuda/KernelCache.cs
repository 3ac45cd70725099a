using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace AmbientNative.Backends.Cuda;

/// <summary>
/// Compiled kernel images, cached in this process and on disk. The key hashes everything that changes the
/// machine code: the source and every header, the NVRTC options, the target architecture and the NVRTC
/// version. A disk entry is written to a temporary file and renamed, so concurrent processes never read half
/// a file; an unreadable or unwritable cache folder only costs a recompilation.
/// </summary>
public sealed class KernelCache(string directory)
{
    private readonly ConcurrentDictionary<string, byte[]> _memory = new();

    public string Directory { get; } = directory;

    /// <summary>$AMBIENT_KERNEL_CACHE, else $XDG_CACHE_HOME/ambientnative/kernels, else ~/.cache/ambientnative/kernels.</summary>
    public static string DefaultDirectory()
    {
        var explicitDir = Environment.GetEnvironmentVariable("AMBIENT_KERNEL_CACHE");
        if (!string.IsNullOrEmpty(explicitDir)) return explicitDir;
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var root = !string.IsNullOrEmpty(xdg) ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "ambientnative", "kernels");
    }

    /// <summary>Hex SHA-256 over (source, headers sorted by name, options, arch, NVRTC version).</summary>
    public static string Key(string source, IReadOnlyDictionary<string, string> headers, IEnumerable<string> options,
        string arch, string nvrtcVersion)
    {
        var sb = new StringBuilder();
        void Field(string name, string value) => sb.Append(name).Append('\0').Append(value.Length).Append('\0').Append(value).Append('\0');
        Field("source", source);
        foreach (var (name, text) in headers.OrderBy(h => h.Key, StringComparer.Ordinal)) Field("header:" + name, text);
        Field("options", string.Join("\u0001", options));
        Field("arch", arch);
        Field("nvrtc", nvrtcVersion);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    /// <summary>Number of times <see cref="GetOrCompile"/> had to call the compiler (for tests and logs).</summary>
    public int Compilations => _compilations;
    private int _compilations;

    public string PathFor(string name, string key) => Path.Combine(Directory, $"{name}-{key[..32]}.bin");

    public byte[] GetOrCompile(string name, string key, Func<byte[]> compile)
    {
        return _memory.GetOrAdd(key, _ =>
        {
            var path = PathFor(name, key);
            try
            {
                if (File.Exists(path)) return File.ReadAllBytes(path);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            Interlocked.Increment(ref _compilations);
            var image = compile();
            try
            {
                System.IO.Directory.CreateDirectory(Directory);
                var tmp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
                File.WriteAllBytes(tmp, image);
                File.Move(tmp, path, overwrite: true);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            return image;
        });
    }
}
