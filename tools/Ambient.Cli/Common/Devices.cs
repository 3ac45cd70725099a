using AmbientNative.Backends.Cuda;
using AmbientNative.Backends.Cuda.Native;
using AmbientNative.Tensors;

namespace Ambient.Cli.Common;

/// <summary>The <c>--device</c> values: auto, cpu, cuda (cuda:N for another GPU).</summary>
internal static class Devices
{
    /// <summary>
    /// The device for a <c>--device</c> value. <c>auto</c> is CUDA device 0 when it works, else the CPU;
    /// <c>cuda</c> fails with the one-line reason (no driver, no NVRTC, no device) when it does not.
    /// </summary>
    public static Device Resolve(string name)
    {
        if (name == "cpu") return Device.Cpu;
        if (name == "auto") return Device.Auto;
        if (name == "cuda") return Device.Cuda(0);
        if (name.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(name[5..], out int ordinal) && ordinal >= 0)
            return Device.Cuda(ordinal);
        throw new UsageException($"--device {name}: expected auto, cpu, cuda or cuda:N.");
    }

    /// <summary>True for the exceptions that say CUDA cannot be used here (printed as one line).</summary>
    public static bool IsUnavailable(Exception e) => e is CudaUnavailableException or CudaException or NvrtcException;

    /// <summary>Every device found, with a note on each (for <c>ambient devices</c>); the CUDA line says why when there is none.</summary>
    public static IReadOnlyList<(string Id, string Name, string Note)> List()
    {
        var list = new List<(string, string, string)>();
        for (int i = 0; i < 64; i++)
        {
            try
            {
                var d = Device.Cuda(i);
                list.Add(($"cuda:{i}", d.Name, i == 0 ? "what --device auto picks" : ""));
            }
            catch (Exception e) when (IsUnavailable(e))
            {
                if (i == 0) list.Add(("cuda", "unavailable", e.Message));
                break;
            }
        }
        bool gpu = list.Count > 0 && list[0].Item1 != "cuda";
        list.Add(("cpu", Device.Cpu.Name, gpu ? "SIMD + Parallel.For" : "SIMD + Parallel.For; what --device auto picks"));
        list.Add(("cpu-ref", Device.CpuReference.Name, "plain loops: the specification the tests compare against (not a --device)"));
        return list;
    }

    /// <summary>
    /// Sets the conv precision of <paramref name="device"/> for this command: TF32 tensor cores when asked (CUDA with
    /// compute capability 8.0 or later only; a one-line error otherwise), fp32 when not, so no command inherits another's.
    /// </summary>
    public static void UseTf32(CliContext cli, Device device, bool tf32)
    {
        if (device.Kind != DeviceKind.Cuda)
        {
            if (tf32) throw new UsageException($"--tf32 needs a CUDA device (--device cuda); this run is on {device.Name}.");
            return;
        }
        try { CudaDevices.Backend(device).ConvTf32 = tf32; }
        catch (InvalidOperationException e) { throw new UsageException($"--tf32: {e.Message}"); }
        if (tf32) cli.Note("convolutions: TF32 tensor cores (--tf32)");
    }

    /// <summary><see cref="Resolve(string)"/>, saying why when auto falls back to the CPU.</summary>
    public static Device Resolve(CliContext cli, string name)
    {
        var device = Resolve(name);
        if (name == "auto" && device.Kind == DeviceKind.Cpu) cli.Note($"device: {CudaDevices.AutoReason}");
        return device;
    }
}
