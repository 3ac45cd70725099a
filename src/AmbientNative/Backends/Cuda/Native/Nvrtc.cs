using System.Runtime.InteropServices;
using System.Text;

namespace AmbientNative.Backends.Cuda.Native;

/// <summary>
/// NVRTC, the run-time CUDA C++ compiler, bound by hand. Found as libnvrtc.so, .so.13 or .so.12 on the
/// library path, in the usual CUDA folders, or at $AMBIENT_NVRTC (a file or a folder).
/// </summary>
internal static unsafe class Nvrtc
{
    public static readonly string[] LibraryNames = ["libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12"];

    private static readonly object Gate = new();
    private static bool _attempted;
    private static string? _unavailable;

    private static delegate* unmanaged<int, byte*> _getErrorString;
    private static delegate* unmanaged<int*, int*, int> _version;
    private static delegate* unmanaged<IntPtr*, byte*, byte*, int, byte**, byte**, int> _createProgram;
    private static delegate* unmanaged<IntPtr*, int> _destroyProgram;
    private static delegate* unmanaged<IntPtr, int, byte**, int> _compileProgram;
    private static delegate* unmanaged<IntPtr, nuint*, int> _getProgramLogSize;
    private static delegate* unmanaged<IntPtr, byte*, int> _getProgramLog;
    private static delegate* unmanaged<IntPtr, nuint*, int> _getPtxSize;
    private static delegate* unmanaged<IntPtr, byte*, int> _getPtx;
    private static delegate* unmanaged<IntPtr, nuint*, int> _getCubinSize;
    private static delegate* unmanaged<IntPtr, byte*, int> _getCubin;

    public static string? UnavailableReason
    {
        get
        {
            lock (Gate)
            {
                if (!_attempted)
                {
                    _attempted = true;
                    try { _unavailable = Load(); }
                    catch (CudaUnavailableException e) { _unavailable = e.Message; }
                }
                return _unavailable;
            }
        }
    }

    public static void EnsureLoaded()
    {
        if (UnavailableReason is { } r) throw new CudaUnavailableException(r);
    }

    private static string? Load()
    {
        string?[] roots = [Environment.GetEnvironmentVariable("CUDA_PATH"), Environment.GetEnvironmentVariable("CUDA_HOME"), "/usr/local/cuda"];
        var folders = roots.Where(r => !string.IsNullOrEmpty(r))
            .SelectMany(r => new[] { Path.Combine(r!, "lib64"), Path.Combine(r!, "targets/x86_64-linux/lib") }).ToArray();
        var lib = NativeLoader.TryLoad(LibraryNames, folders, "AMBIENT_NVRTC", out var why, out var from);
        if (lib == IntPtr.Zero) return $"NVRTC not found: {why}";
        // NVRTC dlopens libnvrtc-builtins by name at compile time, which fails when NVRTC itself was found by
        // path outside the loader's search path. A library already loaded is matched by its soname, so load
        // the builtins that sit beside it now.
        var dir = Path.GetDirectoryName(from);
        if (!string.IsNullOrEmpty(dir) && Directory.Exists(dir))
            foreach (var b in Directory.GetFiles(dir, "libnvrtc-builtins.so*")) NativeLibrary.TryLoad(b, out _);
        IntPtr F(string n) => NativeLoader.Export(lib, "libnvrtc", n);
        _getErrorString = (delegate* unmanaged<int, byte*>)F("nvrtcGetErrorString");
        _version = (delegate* unmanaged<int*, int*, int>)F("nvrtcVersion");
        _createProgram = (delegate* unmanaged<IntPtr*, byte*, byte*, int, byte**, byte**, int>)F("nvrtcCreateProgram");
        _destroyProgram = (delegate* unmanaged<IntPtr*, int>)F("nvrtcDestroyProgram");
        _compileProgram = (delegate* unmanaged<IntPtr, int, byte**, int>)F("nvrtcCompileProgram");
        _getProgramLogSize = (delegate* unmanaged<IntPtr, nuint*, int>)F("nvrtcGetProgramLogSize");
        _getProgramLog = (delegate* unmanaged<IntPtr, byte*, int>)F("nvrtcGetProgramLog");
        _getPtxSize = (delegate* unmanaged<IntPtr, nuint*, int>)F("nvrtcGetPTXSize");
        _getPtx = (delegate* unmanaged<IntPtr, byte*, int>)F("nvrtcGetPTX");
        _getCubinSize = (delegate* unmanaged<IntPtr, nuint*, int>)F("nvrtcGetCUBINSize");
        _getCubin = (delegate* unmanaged<IntPtr, byte*, int>)F("nvrtcGetCUBIN");
        return null;
    }

    private static void Check(int result, string call)
    {
        if (result == 0) return;
        var s = Marshal.PtrToStringAnsi((IntPtr)_getErrorString(result)) ?? "?";
        throw new NvrtcException($"{call} failed: {s} ({result})");
    }

    /// <summary>NVRTC's (major, minor) version, part of the kernel cache key.</summary>
    public static (int Major, int Minor) Version()
    {
        EnsureLoaded();
        int a, b;
        Check(_version(&a, &b), "nvrtcVersion");
        return (a, b);
    }

    /// <summary>
    /// Compiles <paramref name="source"/> (with in-memory <paramref name="headers"/> for #include) and returns
    /// CUBIN when an sm_XX target is given, PTX for compute_XX, plus the compiler log (warnings, -Xptxas -v).
    /// Throws <see cref="NvrtcException"/> whose message contains the log when compilation fails.
    /// </summary>
    public static (byte[] Image, string Log) Compile(string name, string source, IReadOnlyDictionary<string, string> headers,
        IReadOnlyList<string> options, bool cubin)
    {
        EnsureLoaded();
        // The compiler can recurse deeply, and a stack overflow in native code kills the whole process: give it
        // a thread of its own with a large stack rather than whatever .NET worker thread calls us.
        (byte[], string)? result = null;
        Exception? error = null;
        var t = new Thread(() =>
        {
            try { result = CompileOnThisThread(name, source, headers, options, cubin); }
            catch (Exception e) { error = e; }
        }, maxStackSize: 256 << 20) { Name = "nvrtc", IsBackground = true };
        t.Start();
        t.Join();
        if (error != null) throw error;
        return result!.Value;
    }

    private static (byte[] Image, string Log) CompileOnThisThread(string name, string source, IReadOnlyDictionary<string, string> headers,
        IReadOnlyList<string> options, bool cubin)
    {
        var pins = new List<GCHandle>();
        byte* Pin(string s)
        {
            var h = GCHandle.Alloc(Encoding.UTF8.GetBytes(s + "\0"), GCHandleType.Pinned);
            pins.Add(h);
            return (byte*)h.AddrOfPinnedObject();
        }
        IntPtr prog = IntPtr.Zero;
        try
        {
            var hdrs = headers.ToArray();
            byte** contents = stackalloc byte*[Math.Max(1, hdrs.Length)];
            byte** names = stackalloc byte*[Math.Max(1, hdrs.Length)];
            for (int i = 0; i < hdrs.Length; i++) { contents[i] = Pin(hdrs[i].Value); names[i] = Pin(hdrs[i].Key); }
            Check(_createProgram(&prog, Pin(source), Pin(name), hdrs.Length, contents, names), "nvrtcCreateProgram");

            byte** opts = stackalloc byte*[Math.Max(1, options.Count)];
            for (int i = 0; i < options.Count; i++) opts[i] = Pin(options[i]);
            int rc = _compileProgram(prog, options.Count, opts);
            string log = GetLog(prog);
            if (rc != 0)
            {
                var err = Marshal.PtrToStringAnsi((IntPtr)_getErrorString(rc)) ?? "?";
                throw new NvrtcException($"nvrtcCompileProgram failed for {name} ({err}, options {string.Join(" ", options)}):\n{log}", log);
            }
            nuint size;
            byte[] image;
            if (cubin)
            {
                Check(_getCubinSize(prog, &size), "nvrtcGetCUBINSize");
                image = new byte[(int)size];
                fixed (byte* p = image) Check(_getCubin(prog, p), "nvrtcGetCUBIN");
            }
            else
            {
                Check(_getPtxSize(prog, &size), "nvrtcGetPTXSize");
                image = new byte[(int)size]; // includes the terminating NUL that cuModuleLoadData needs for PTX
                fixed (byte* p = image) Check(_getPtx(prog, p), "nvrtcGetPTX");
            }
            return (image, log);
        }
        finally
        {
            if (prog != IntPtr.Zero) _destroyProgram(&prog);
            foreach (var h in pins) h.Free();
        }
    }

    private static string GetLog(IntPtr prog)
    {
        nuint size;
        Check(_getProgramLogSize(prog, &size), "nvrtcGetProgramLogSize");
        if (size <= 1) return "";
        var buf = new byte[(int)size];
        fixed (byte* p = buf) Check(_getProgramLog(prog, p), "nvrtcGetProgramLog");
        return Encoding.UTF8.GetString(buf, 0, buf.Length - 1).Trim();
    }
}
