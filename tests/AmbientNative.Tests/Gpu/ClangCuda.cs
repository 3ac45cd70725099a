using System.Diagnostics;
using System.Text.RegularExpressions;
using AmbientNative.Backends.Cuda;

namespace AmbientNative.Tests.Gpu;

/// <summary>
/// Compiles the embedded kernels/*.cu with clang's CUDA front end (device side only, to PTX for sm_80), so CI, which
/// has neither a GPU nor NVRTC, still type-checks every kernel and reads the layout of every argument struct. NVRTC
/// predeclares CUDA's built-ins and clang without the CUDA SDK does not, so <see cref="Shim"/> declares the few the
/// kernels use. This is a compile check, not NVRTC: the GPU tests stay the judge of what runs.
/// </summary>
internal sealed partial class ClangCuda : IDisposable
{
    /// <summary>NVRTC's built-ins the kernels use, declared for clang (bodies only where a helper is plain C++).</summary>
    private const string Shim = """
        #define __device__ __attribute__((device))
        #define __global__ __attribute__((global))
        #define __host__ __attribute__((host))
        #define __shared__ __attribute__((shared))
        #define __constant__ __attribute__((constant))
        #define __forceinline__ __inline__ __attribute__((always_inline))
        #define __align__(n) __attribute__((aligned(n)))
        #define __launch_bounds__(...) __attribute__((launch_bounds(__VA_ARGS__)))
        #include <__clang_cuda_builtin_vars.h>
        struct __attribute__((aligned(16))) float4 { float x, y, z, w; };
        struct __attribute__((aligned(8))) float2 { float x, y; };
        struct __attribute__((aligned(16))) uint4 { unsigned x, y, z, w; };
        __device__ inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return uint4{x, y, z, w}; }
        __device__ inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
        extern "C" __device__ float expf(float); extern "C" __device__ float logf(float); extern "C" __device__ float sqrtf(float);
        extern "C" __device__ float fmaf(float, float, float); extern "C" __device__ float fmaxf(float, float);
        extern "C" __device__ float fminf(float, float); extern "C" __device__ float powf(float, float);
        extern "C" __device__ float fabsf(float); extern "C" __device__ float rsqrtf(float); extern "C" __device__ float tanhf(float);
        extern "C" __device__ float cosf(float); extern "C" __device__ float sinf(float);
        extern "C" __device__ double exp(double); extern "C" __device__ double sqrt(double); extern "C" __device__ double log(double);
        extern "C" __device__ double cos(double);
        __device__ void __syncthreads(); __device__ void __threadfence();
        __device__ float __shfl_xor_sync(unsigned, float, int, int = 32);
        __device__ double __shfl_xor_sync(unsigned, double, int, int = 32);
        __device__ int __shfl_xor_sync(unsigned, int, int, int = 32);
        __device__ float __int_as_float(int); __device__ int __float_as_int(float); __device__ unsigned __float_as_uint(float);
        __device__ float __uint_as_float(unsigned); __device__ float __fadd_rn(float, float);
        __device__ unsigned long long __cvta_generic_to_shared(const void*);
        __device__ unsigned __umulhi(unsigned, unsigned); __device__ unsigned long long __umul64hi(unsigned long long, unsigned long long);
        __device__ int atomicAdd(int*, int); __device__ unsigned atomicAdd(unsigned*, unsigned); __device__ int atomicExch(int*, int);
        __device__ int atomicMax(int*, int); __device__ int atomicOr(int*, int); __device__ unsigned atomicOr(unsigned*, unsigned);
        __device__ inline int min(int a, int b) { return a < b ? a : b; }
        __device__ inline int max(int a, int b) { return a > b ? a : b; }
        __device__ inline long long min(long long a, long long b) { return a < b ? a : b; }
        __device__ inline long long max(long long a, long long b) { return a > b ? a : b; }
        __device__ inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
        __device__ inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
        """;

    private readonly string _dir;

    private ClangCuda(string executable)
    {
        Executable = executable;
        _dir = Directory.CreateTempSubdirectory("ambient-clang-").FullName;
        foreach (var f in KernelSources.Files) File.WriteAllText(Path.Combine(_dir, f), KernelSources.Read(f));
        File.WriteAllText(Path.Combine(_dir, "nvrtc_shim.h"), Shim);
    }

    public string Executable { get; }

    /// <summary>
    /// A compiler over a temporary copy of the kernels, or Assert.Ignore without clang-14 (.ci/run installs it). Only
    /// clang 14 is accepted: the shim and the warning set were checked against it, and another version may warn or
    /// predeclare differently. $AMBIENT_CLANG names another clang-14 binary.
    /// </summary>
    public static ClangCuda Create() => new(RequireClang14());

    /// <summary>The clang 14 executable ($AMBIENT_CLANG, else clang-14 on the path), or Assert.Ignore without one.</summary>
    public static string RequireClang14()
    {
        foreach (var c in new[] { Environment.GetEnvironmentVariable("AMBIENT_CLANG"), "clang-14" })
            if (!string.IsNullOrEmpty(c) && Run(c, ["--version"], Environment.CurrentDirectory, stdout: true) is (0, var version)
                && version.Contains("clang version 14.", StringComparison.Ordinal))
                return c;
        Assert.Ignore("no clang 14 (clang-14 or $AMBIENT_CLANG) to compile the CUDA kernels with; .ci/run installs clang-14");
        throw new InvalidOperationException(); // not reached
    }

    /// <summary>
    /// The PTX of one kernel file; fails the test with clang's messages if it does not compile or warns. The warnings
    /// asked for catch what a kernel written without a GPU gets wrong quietly: a 64-bit index truncated to 32 bits, an
    /// uninitialised variable, an unused result. Sign comparisons are left out (threadIdx against an int bound is the
    /// idiom, and harmless for the sizes a launch can have).
    /// </summary>
    public string Ptx(string file)
    {
        var output = Path.Combine(_dir, file + ".ptx");
        var (exit, err) = Run(Executable,
            [.. Flags, "-O2", "-Wall", "-Wextra", "-Wshorten-64-to-32", "-Wno-unused-parameter", "-Wno-sign-compare", "-S", "-o", output, file], _dir);
        Assert.That(exit, Is.Zero, $"clang could not compile {file}:\n{err}");
        Assert.That(err, Does.Not.Contain("warning:"), $"clang warns about {file}:\n{err}");
        return File.ReadAllText(output);
    }

    /// <summary>
    /// The source with our own macros expanded (kernels declared through a macro, as gemm.cu's, become visible) and
    /// CUDA's keywords left as written (the shim is not included).
    /// </summary>
    public string Preprocessed(string file)
    {
        var (exit, text) = Run(Executable, ["-E", "-P", "-x", "cuda", "--cuda-device-only", "-nocudainc", "-nocudalib", "--cuda-gpu-arch=sm_80", "-I", ".", file], _dir, stdout: true);
        Assert.That(exit, Is.Zero, $"clang could not preprocess {file}:\n{text}");
        return text;
    }

    /// <summary>
    /// Every struct clang lays out while compiling <paramref name="file"/>: name → (size in bytes, fields as
    /// (byte offset, name) in declaration order, top level only).
    /// </summary>
    public Dictionary<string, (int Size, List<(int Offset, string Name)> Fields)> Layouts(string file)
    {
        var (exit, text) = Run(Executable, [.. Flags, "-fsyntax-only", "-Xclang", "-fdump-record-layouts", file], _dir, stdout: true);
        Assert.That(exit, Is.Zero, $"clang could not lay out the structs of {file}:\n{text}");
        var layouts = new Dictionary<string, (int, List<(int, string)>)>();
        foreach (var block in text.Split("*** Dumping AST Record Layout"))
        {
            var head = RecordHead().Match(block);
            var size = RecordSize().Match(block);
            if (!head.Success || !size.Success) continue;
            var fields = new List<(int, string)>();
            foreach (Match m in TopLevelField().Matches(block)) fields.Add((int.Parse(m.Groups[1].Value), m.Groups[2].Value));
            layouts[head.Groups[1].Value] = (int.Parse(size.Groups[1].Value), fields);
        }
        return layouts;
    }

    private static readonly string[] Flags =
        ["-x", "cuda", "--cuda-device-only", "-nocudainc", "-nocudalib", "--cuda-gpu-arch=sm_80", "-std=c++17", "-include", "nvrtc_shim.h", "-I", "."];

    internal static (int Exit, string Text) Run(string exe, string[] args, string dir, bool stdout = false)
    {
        var psi = new ProcessStartInfo(exe) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            var outTask = p.StandardOutput.ReadToEndAsync();
            var errTask = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromMinutes(2))) { p.Kill(entireProcessTree: true); return (-1, $"{exe} did not finish in 2 minutes"); }
            var err = errTask.Result;
            return (p.ExitCode, stdout ? outTask.Result + err : err);
        }
        catch (System.ComponentModel.Win32Exception e) { return (-1, e.Message); }
    }

    [GeneratedRegex(@"^\s*0 \| struct (\w+)\s*$", RegexOptions.Multiline)]
    private static partial Regex RecordHead();

    [GeneratedRegex(@"\[sizeof=(\d+),")]
    private static partial Regex RecordSize();

    // "        16 |   long long n" or "        28 |   int[8] dims": exactly two spaces after the bar = a top-level field.
    [GeneratedRegex(@"^\s*(\d+) \|   (?! )(?:.*?[\s*\]])?(\w+)\s*$", RegexOptions.Multiline)]
    private static partial Regex TopLevelField();

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
