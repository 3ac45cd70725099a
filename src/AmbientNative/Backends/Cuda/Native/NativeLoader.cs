using System.Runtime.InteropServices;

namespace AmbientNative.Backends.Cuda.Native;

/// <summary>
/// Finds a native library by trying several file names and folders, and resolves its exports into function
/// pointers. We resolve by hand (not [DllImport]) so that a missing library or symbol becomes one clear
/// sentence instead of a DllNotFoundException at the first call.
/// </summary>
internal static class NativeLoader
{
    /// <summary>
    /// Tries <paramref name="overrideVariable"/> (a file or a folder) first, then each name through the system
    /// search path, then each name in each folder of <paramref name="folders"/>. Returns 0 and a reason on failure.
    /// </summary>
    public static IntPtr TryLoad(string[] names, string[] folders, string? overrideVariable, out string reason) =>
        TryLoad(names, folders, overrideVariable, out reason, out _);

    /// <param name="loadedFrom">The name or path that loaded.</param>
    public static IntPtr TryLoad(string[] names, string[] folders, string? overrideVariable, out string reason, out string loadedFrom)
    {
        loadedFrom = "";
        var tried = new List<string>();
        string? forced = overrideVariable == null ? null : Environment.GetEnvironmentVariable(overrideVariable);
        var candidates = new List<string>();
        if (!string.IsNullOrEmpty(forced))
        {
            if (Directory.Exists(forced)) candidates.AddRange(names.Select(n => Path.Combine(forced, n)));
            else candidates.Add(forced);
        }
        candidates.AddRange(names);
        foreach (var dir in folders)
            if (!string.IsNullOrEmpty(dir) && Directory.Exists(dir))
                candidates.AddRange(names.Select(n => Path.Combine(dir, n)));

        foreach (var c in candidates)
        {
            tried.Add(c);
            if (NativeLibrary.TryLoad(c, out var h)) { reason = ""; loadedFrom = c; return h; }
        }
        reason = $"none of {string.Join(", ", names)} could be loaded (tried {tried.Count} paths" +
                 (overrideVariable != null ? $"; set {overrideVariable} to the library's path to point at it" : "") + ")";
        return IntPtr.Zero;
    }

    /// <summary>The address of the first of <paramref name="names"/> that the library exports, or throws naming them.</summary>
    public static IntPtr Export(IntPtr library, string libraryName, params string[] names)
    {
        foreach (var n in names)
            if (NativeLibrary.TryGetExport(library, n, out var p)) return p;
        throw new CudaUnavailableException($"{libraryName} does not export {string.Join(" or ", names)} (too old?).");
    }
}
