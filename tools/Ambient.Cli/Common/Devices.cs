using AmbientNative.Tensors;

namespace Ambient.Cli.Common;

/// <summary>The <c>--device</c> values: auto, cpu, cuda (cuda:N for another GPU).</summary>
internal static class Devices
{
    public static readonly string[] Names = ["auto", "cpu", "cuda"];

    /// <summary>
    /// The device for a <c>--device</c> value. This build has the CPU backends only, so <c>auto</c> is the CPU and
    /// <c>cuda</c> is a usage error that says so.
    /// </summary>
    public static Device Resolve(string name)
    {
        if (name is "cpu" or "auto") return Device.Cpu;
        if (name == "cuda" || name.StartsWith("cuda:", StringComparison.Ordinal))
            throw new UsageException($"--device {name}: this build has no CUDA backend yet; use --device cpu (or auto).");
        throw new UsageException($"--device {name}: expected auto, cpu, cuda or cuda:N.");
    }

    /// <summary>Every device found, with a note on each (for <c>ambient devices</c>).</summary>
    public static IReadOnlyList<(string Id, string Name, string Note)> List() =>
    [
        ("cpu", Device.Cpu.Name, "SIMD + Parallel.For; the default"),
        ("cpu-ref", Device.CpuReference.Name, "plain loops: the specification the tests compare against"),
        ("cuda", "unavailable", "this build has no CUDA backend yet"),
    ];
}
