using System.Diagnostics;
using System.Text.RegularExpressions;

namespace AmbientNative.Tests.Gpu;

/// <summary>
/// Runs the GPU tests (category Gpu; the ILGPU ones ignore themselves there, ILGPU needs the real driver) in a child process whose
/// libcuda and NVRTC are the CUDA emulator: CI has no GPU, yet every CUDA C kernel, launch and argument block of
/// the CUDA backend runs against the float64 reference, and a kernel with a missing or divergent barrier fails.
/// A child process because the driver binding loads once per process, and this one must keep seeing no GPU.
/// </summary>
public partial class EmulatedGpuTests
{
    // The Gpu fixtures hold ~200 cases; far fewer passing means they were ignored rather than run.
    private const int AtLeast = 150;

    [Test]
    public void The_gpu_tests_pass_on_the_cuda_emulator()
    {
        var dir = Directory.CreateTempSubdirectory("ambient-cuda-emulator-").FullName;
        try
        {
            var (library, cxx) = CudaEmulator.Build(dir);
            var (exit, output) = RunGpuTests(library, cxx, Path.Combine(dir, "kernel-cache"));
            var summary = string.Join(", ", Summary().Matches(output).Select(m => $"{m.Groups[1].Value} {m.Groups[2].Value}"));
            TestContext.Out.WriteLine($"emulated GPU run: {summary}");
            var tail = output.Length > 12000 ? output[^12000..] : output;
            Assert.That(exit, Is.Zero, $"the GPU tests failed on the emulator (exit {exit}):\n{tail}");
            Assert.That(Count(output, "failed"), Is.Zero, tail);
            Assert.That(Count(output, "succeeded"), Is.GreaterThanOrEqualTo(AtLeast), $"too few GPU tests ran on the emulator:\n{tail}");
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }

    private static int Count(string output, string what) =>
        Summary().Matches(output).Where(m => m.Groups[1].Value == what).Sum(m => int.Parse(m.Groups[2].Value));

    private static (int Exit, string Output) RunGpuTests(string library, string cxx, string kernelCache)
    {
        var assembly = typeof(EmulatedGpuTests).Assembly.Location;
        var host = Environment.ProcessPath!;
        var psi = Path.GetFileNameWithoutExtension(host) == "dotnet" ? new ProcessStartInfo(host, [assembly]) : new ProcessStartInfo(host);
        foreach (var a in new[] { "--filter", "Category=Gpu&Category!=GpuLarge", "--no-progress", "--no-ansi" })
            psi.ArgumentList.Add(a);
        psi.RedirectStandardOutput = psi.RedirectStandardError = true;
        psi.WorkingDirectory = Path.GetDirectoryName(assembly)!;
        // The test platform's own variables would make the child report to this run instead of running on its own.
        foreach (var k in psi.Environment.Keys.Where(k => k.StartsWith("TESTINGPLATFORM_", StringComparison.Ordinal) ||
                                                          k.StartsWith("VSTEST", StringComparison.Ordinal)).ToList())
            psi.Environment.Remove(k);
        psi.Environment.Remove("AMBIENT_CUDA_CONTEXT");
        psi.Environment["AMBIENT_LIBCUDA"] = library;
        psi.Environment["AMBIENT_NVRTC"] = library;
        psi.Environment["AMBIENT_EMU_CXX"] = cxx;
        psi.Environment["AMBIENT_KERNEL_CACHE"] = kernelCache;
        psi.Environment["AMBIENT_CUDA_ALLOCATOR"] = "exact"; // no bucket slack: an overrun reaches the guard bands
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            p.Kill(entireProcessTree: true);
            return (-1, "the emulated GPU run did not finish in 10 minutes\n" + stdout.Result + stderr.Result);
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    // The run summary's "  failed: 0", "  succeeded: 200", "  skipped: 3" lines.
    [GeneratedRegex(@"^\s+(failed|succeeded|skipped): (\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex Summary();
}
