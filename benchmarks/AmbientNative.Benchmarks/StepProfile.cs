using System.Diagnostics;
using System.Reflection;
using AmbientNative.Autograd;
using AmbientNative.Backends;
using AmbientNative.Backends.Cpu;
using AmbientNative.Diffusion;
using AmbientNative.Diffusion.Losses;
using AmbientNative.Nn;
using AmbientNative.Tensors;
using AmbientNative.Training;

namespace AmbientNative.Benchmarks;

/// <summary>
/// Where a training step's time goes: the step of <see cref="TrainingStepBenchmarks"/> on a device whose backend is
/// the fast CPU backend behind a timing proxy, so every backend call is timed by method name (forward and backward
/// share methods: Conv2dForward, Conv2dBackwardData, ...). The proxy costs a reflection call per op (~1 µs, a few
/// hundred per step). Run: dotnet run -c Release --project benchmarks/AmbientNative.Benchmarks -- profile [steps] [preset] [batch]
/// </summary>
public static class StepProfile
{
    public static void Run(int steps, UNetConfig config, int batchSize)
    {
        Device? device = null;
        var inner = new ProfiledCpuBackend(() => device!);
        var proxy = DispatchProxy.Create<IBackend, TimingProxy>();
        ((TimingProxy)(object)proxy).Target = inner;
        device = new Device(DeviceKind.Cpu, 0, "cpu (fast, profiled)", () => proxy);
        var timer = (TimingProxy)(object)proxy;

        using var net = new UNet(config, device, seed: 1);
        var loss = new AmbientLoss(new EdmPreconditioner(net));
        using var adam = new Adam(net.Parameters(), lr: 1e-4);
        var batch = Shared.SyntheticAmbientBatch.Make(config, batchSize, device, new Rng(2));
        var rng = new Rng(3);
        var stepTimes = new List<double>();
        for (int s = 0; s < steps; s++)
        {
            if (s == 2) timer.Times.Clear(); // the first two steps run tier-0 JIT code
            long alloc = GC.GetAllocatedBytesForCurrentThread();
            var sw = Stopwatch.StartNew();
            adam.ZeroGrad();
            using (var tape = new Tape())
            {
                var r = loss.Compute(batch, rng);
                tape.Backward(r.Loss);
            }
            adam.Step();
            stepTimes.Add(sw.Elapsed.TotalMilliseconds);
            Console.WriteLine($"step {s}: {sw.Elapsed.TotalMilliseconds:F0} ms, {(GC.GetAllocatedBytesForCurrentThread() - alloc) / 1024.0:F0} KiB allocated on this thread");
        }
        int measured = steps - 2;
        double total = timer.Times.Values.Sum(t => t.Ms);
        Console.WriteLine($"\nper step, mean over {measured} steps: backend calls {total / measured:F0} ms of {stepTimes.Skip(2).Average():F0} ms");
        foreach (var (name, t) in timer.Times.OrderByDescending(kv => kv.Value.Ms))
            Console.WriteLine($"{name,-28} {t.Ms / measured,8:F1} ms {t.Calls / measured,6} calls {100 * t.Ms / total,5:F1} %");
    }

    /// <summary>The fast backend allocating on the profiled device, so every op on its tensors comes back through the proxy.</summary>
    private sealed class ProfiledCpuBackend(Func<Device> device) : FastCpuBackend
    {
        protected override Device DeviceFor() => device();
    }

    public class TimingProxy : DispatchProxy
    {
        public IBackend Target { get; set; } = null!;
        public Dictionary<string, (double Ms, int Calls)> Times { get; } = [];

        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            long t0 = Stopwatch.GetTimestamp();
            try { return method!.Invoke(Target, args); }
            catch (TargetInvocationException e) when (e.InnerException != null) { throw e.InnerException; }
            finally
            {
                double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                Times.TryGetValue(method!.Name, out var t);
                Times[method.Name] = (t.Ms + ms, t.Calls + 1);
            }
        }
    }
}
