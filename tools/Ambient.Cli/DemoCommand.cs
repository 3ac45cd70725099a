using System.CommandLine;
using System.Diagnostics;
using AmbientNative.Autograd;
using AmbientNative.Tensors;

namespace Ambient.Cli;

/// <summary>
/// `ambient demo`: until the diffusion core lands, a tiny forward/backward pass through conv → SiLU → conv on
/// random data, checked against the reference backend, so a fresh machine shows the engine working end to end.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var seed = new Option<int>("--seed") { Description = "Seed for the random inputs and weights.", DefaultValueFactory = _ => 0 };
        var cmd = new Command("demo", "Run a tiny forward/backward demo on the CPU and check it against the reference backend.") { seed };
        cmd.SetAction(parse => Run(parse.GetValue(seed)));
        return cmd;
    }

    private static int Run(int seed)
    {
        Console.WriteLine("Devices:");
        Console.WriteLine($"  {Device.Cpu.Name}");
        var fast = Step(Device.Cpu, seed, out var fastMs);
        var reference = Step(Device.CpuReference, seed, out var refMs);
        Console.WriteLine($"Forward/backward of conv(3→16, 3×3) → SiLU → conv(16→3, 3×3) on a [4, 3, 32, 32] batch:");
        Console.WriteLine($"  loss {fast.Loss:F6}   |grad w1| {fast.GradNorm1:F6}   |grad w2| {fast.GradNorm2:F6}   ({fastMs:F1} ms, {Device.Cpu.Backend.Name})");
        Console.WriteLine($"  loss {reference.Loss:F6}   |grad w1| {reference.GradNorm1:F6}   |grad w2| {reference.GradNorm2:F6}   ({refMs:F1} ms, {Device.CpuReference.Backend.Name})");
        double rel = Math.Abs(fast.Loss - reference.Loss) / Math.Abs(reference.Loss);
        Console.WriteLine(rel < 1e-5 ? $"Backends agree (relative difference {rel:E1})." : $"Backends DISAGREE (relative difference {rel:E1}).");
        return rel < 1e-5 ? 0 : 1;
    }

    private readonly record struct Result(double Loss, double GradNorm1, double GradNorm2);

    private static Result Step(Device device, int seed, out double ms)
    {
        var rng = new Rng((ulong)seed);
        using var x = Tensor.Randn(new Shape(4, 3, 32, 32), rng, device);
        using var w1 = Tensor.Randn(new Shape(16, 3, 3, 3), rng, device, 0.2f).RequireGrad();
        using var w2 = Tensor.Randn(new Shape(3, 16, 3, 3), rng, device, 0.1f).RequireGrad();
        var sw = Stopwatch.StartNew();
        using var tape = new Tape();
        var h = Ops.Silu(Ops.Conv2d(x, w1, padding: 1));
        var y = Ops.Conv2d(h, w2, padding: 1);
        var yv = y.ToArray();
        double loss = 0;
        foreach (float v in yv) loss += 0.5 * v * v;
        tape.Backward(y, y); // d(½Σy²)/dy = y
        ms = sw.Elapsed.TotalMilliseconds;
        return new Result(loss, Norm(w1.Grad!), Norm(w2.Grad!));
    }

    private static double Norm(Tensor t)
    {
        double s = 0;
        foreach (float v in t.ToArray()) s += (double)v * v;
        return Math.Sqrt(s);
    }
}
