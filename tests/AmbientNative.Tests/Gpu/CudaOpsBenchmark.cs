using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Backends.Cuda;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Gpu;

/// <summary>
/// Times the hot non-conv kernels at U-Net sizes with CUDA events (median of 20 after 3 warm-ups): SGEMM (square, and
/// attention's batched QᵀK and V·Pᵀ), group norm + SiLU forward and backward, the per-channel binary backward, and
/// softmax. Prints TFLOP/s against the fp32 FMA peak, or GB/s of compulsory traffic against DRAM bandwidth. Runs only
/// with AMBIENT_GPU_BENCH=1.
/// </summary>
[Category("GpuBench")]
public class CudaOpsBenchmark
{
    [Test]
    public void Hot_kernels_at_unet_sizes()
    {
        if (Environment.GetEnvironmentVariable("AMBIENT_GPU_BENCH") != "1") Assert.Ignore("set AMBIENT_GPU_BENCH=1 to run the GPU benchmark");
        var be = Gpu.Backend();
        var dev = be.Device;
        var info = be.Context.Info;
        var rng = Rand.ForTest();
        var lines = new List<string> { $"device: {info}; fp32 peak {info.PeakFp32Flops / 1e12:F1} TFLOP/s, DRAM {info.PeakBandwidth / 1e12:F2} TB/s" };
        Tensor R(params int[] dims) => Tensor.Randn(new Shape(dims), rng, dev);
        double Median(Action a) => CudaTiming.Median(CudaTiming.Measure(be.Context, a, warmup: 3, reps: 20));
        void Flops(string name, double flops, Action a)
        {
            double ms = Median(a);
            lines.Add($"{name,-44} {ms,8:F3} ms  {flops / ms / 1e9,7:F2} TFLOP/s ({100 * flops / (ms * 1e-3) / info.PeakFp32Flops:F0}% of peak)");
        }
        void Bytes(string name, double bytes, Action a)
        {
            double ms = Median(a);
            lines.Add($"{name,-44} {ms,8:F3} ms  {bytes / ms / 1e6,7:F0} GB/s ({100 * bytes / (ms * 1e-3) / info.PeakBandwidth:F0}% of DRAM)");
        }

        foreach (var g in new[] { new GemmArgs(1, 2048, 2048, 2048), new GemmArgs(64, 256, 256, 64, TransA: true), new GemmArgs(64, 64, 256, 256, TransB: true) })
        {
            using var a = R(g.ASize); using var b = R(g.BSize); using var c = R(g.CSize);
            foreach (int tile in new[] { 64, 128 })
                Flops($"gemm {g.Batch}x{g.M}x{g.N}x{g.K} {(g.TransA ? 't' : 'n')}{(g.TransB ? 't' : 'n')} tile {tile}{(CudaBackend.GemmTile(g, info.SmCount) == tile ? " (chosen)" : "")}",
                    g.Flops, () => be.Gemm(a, b, c, g, tile));
        }

        var gn = new GroupNormArgs(32, 128, 32 * 32, 32, 1e-5f, Silu: true);
        using (var x = R(gn.N, gn.C, 32, 32)) using (var w = R(gn.C)) using (var bias = R(gn.C)) using (var y = R(gn.N, gn.C, 32, 32))
        using (var mean = R(gn.N, gn.Groups)) using (var rstd = R(gn.N, gn.Groups)) using (var gy = R(gn.N, gn.C, 32, 32))
        using (var gx = R(gn.N, gn.C, 32, 32)) using (var gw = R(gn.C)) using (var gb = R(gn.C))
        {
            double t = 4.0 * gn.Size;
            Bytes("groupnorm+silu fwd [32,128,32,32] G32", 2 * t, () => be.GroupNormForward(x, null, w, bias, y, mean, rstd, gn));
            Bytes("groupnorm+silu bwd (gx, gw, gb)", 3 * t, () => be.GroupNormBackward(x, null, w, bias, mean, rstd, gy, gx, null, gw, gb, gn));
        }

        using (var a = R(32, 128, 32, 32)) using (var e = R(32, 128, 1, 1)) using (var ch = R(1, 128, 1, 1)) using (var gy = R(32, 128, 32, 32))
        using (var ga = R(32, 128, 32, 32)) using (var ge = R(32, 128, 1, 1)) using (var gc = R(1, 128, 1, 1)) using (var y = R(32, 128, 32, 32))
        {
            double t = 4.0 * a.Numel;
            Bytes("add [32,128,32,32] + [32,128,1,1] fwd", 2 * t, () => be.Binary(BinaryOp.Add, a, e, y));
            foreach (bool perBlock in new[] { true, false })
            {
                string k = perBlock ? "block/elem, chosen" : "thread/elem";
                Bytes($"mul bwd: grad of [32,128,1,1] ({k})", 2 * t, () => be.BinaryGrad(BinaryOp.Mul, a, e, gy, ge, 1, perBlock));
                Bytes($"mul bwd: grad of [1,128,1,1] ({k})", 2 * t, () => be.BinaryGrad(BinaryOp.Mul, a, ch, gy, gc, 1, perBlock));
            }
            Bytes("mul bwd: grad of [32,128,32,32] (same shape)", 3 * t, () => be.BinaryBackward(BinaryOp.Mul, a, e, gy, ga, null));
        }

        using (var x = R(64 * 256, 256)) using (var y = R(64 * 256, 256))
            Bytes("softmax fwd [16384, 256]", 8.0 * x.Numel, () => be.Softmax(x, y));

        // The stand-in U-Net's whole training step (batch 3, 12×12: every op tiny), host clock after a sync, including
        // the loss read and the clipping's per-parameter norm reads: for a model this small the step is launch- and
        // sync-bound, which is what capturing it as a CUDA graph (and one fused norm) would remove.
        var data = new CudaTrainingStepTests.Batch3(seed: 7);
        CudaTrainingStepTests.Step(dev, data, out _, steps: 2, inspect: false);
        long launches0 = be.Launches;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        const int steps = 10;
        CudaTrainingStepTests.Step(dev, data, out _, steps: steps, inspect: false);
        be.Synchronize();
        double stepMs = sw.Elapsed.TotalMilliseconds / steps;
        lines.Add($"stand-in U-Net training step (batch 3, 12x12)   {stepMs,8:F3} ms  {(be.Launches - launches0) / (double)steps:F0} launches/step (model setup amortized over 10 steps)");

        var report = string.Join("\n", lines);
        TestContext.Out.WriteLine(report);
        var outPath = Environment.GetEnvironmentVariable("AMBIENT_OPS_BENCH_OUT");
        if (!string.IsNullOrEmpty(outPath)) File.WriteAllText(outPath, report + "\n");
    }
}
