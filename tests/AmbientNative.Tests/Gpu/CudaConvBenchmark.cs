using System.Text.Json;
using AmbientNative.Backends;
using AmbientNative.Backends.Cuda;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Gpu;

/// <summary>
/// Times conv2d 3×3, 128→128 channels, batch 256, 32×32 (the CIFAR U-Net's widest layer) on the GPU with CUDA
/// events, median of 20 after 3 warm-ups, and spot-checks the outputs against float64 at that size. A test
/// rather than a benchmark project because GPU hosts have no .NET SDK and the test bundle is what travels.
/// Runs only with AMBIENT_GPU_BENCH=1; writes JSON to $AMBIENT_BENCH_OUT when set.
/// </summary>
[Category("GpuBench")]
public class CudaConvBenchmark
{
    [Test]
    public void Conv2d_3x3_128_to_128_batch256_32x32()
    {
        if (Environment.GetEnvironmentVariable("AMBIENT_GPU_BENCH") != "1") Assert.Ignore("set AMBIENT_GPU_BENCH=1 to run the GPU benchmark");
        var be = Gpu.Backend();
        var dev = be.Device;
        var info = be.Context.Info;
        var g = new Conv2dGeometry(256, 128, 32, 32, 128, 3, 1, 1);
        var rng = Rand.ForTest();
        var xh = new float[g.InputSize]; rng.FillNormal(xh);
        var wh = new float[g.WeightSize]; rng.FillNormal(wh, 0f, 0.05f);
        var bh = new float[g.Cout]; rng.FillNormal(bh);
        var gyh = new float[g.OutputSize]; rng.FillNormal(gyh);
        Shape xs = new(g.N, g.Cin, g.H, g.W), ws = new(g.Cout, g.Cin, g.K, g.K), ys = new(g.N, g.Cout, g.OutH, g.OutW);
        using var x = Tensor.FromArray(xh, xs, dev);
        using var w = Tensor.FromArray(wh, ws, dev);
        using var b = Tensor.FromArray(bh, new Shape(g.Cout), dev);
        using var gy = Tensor.FromArray(gyh, ys, dev);
        using var y = Gpu.Poisoned(ys, dev);
        using var gx = Gpu.Poisoned(xs, dev);
        using var gw = Gpu.Poisoned(ws, dev);
        using var gb = Gpu.Poisoned(new Shape(g.Cout), dev);

        double[] Time(Action a) => CudaTiming.Measure(be.Context, a, warmup: 3, reps: 20);
        var fwd = Time(() => be.Conv2dForward(x, w, b, y, g));
        var dgrad = Time(() => be.Conv2dBackwardData(gy, w, gx, g));
        var wgrad = Time(() => be.Conv2dBackwardWeight(x, gy, gw, gb, g));

        // Spot check at full size: 64 random elements of each output against float64 sums.
        var yv = y.ToArray(); var gxv = gx.ToArray(); var gwv = gw.ToArray();
        double ey = 0, ny = 0, ex = 0, nx = 0, ew = 0, nw = 0;
        var pick = new Rng(7);
        for (int s = 0; s < 64; s++)
        {
            int n = pick.NextInt(g.N), c = pick.NextInt(g.Cout), py = pick.NextInt(32), px = pick.NextInt(32);
            double r = bh[c];
            for (int ci = 0; ci < g.Cin; ci++)
            for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++)
            {
                int iy = py - 1 + ky, ix = px - 1 + kx;
                if ((uint)iy < 32 && (uint)ix < 32) r += (double)xh[((n * 128 + ci) * 32 + iy) * 32 + ix] * wh[((c * 128 + ci) * 3 + ky) * 3 + kx];
            }
            double d = yv[((n * 128 + c) * 32 + py) * 32 + px] - r; ey += d * d; ny += r * r;

            r = 0; // gx[n, c, py, px] = Σ gy[n, co, py + 1 - ky, px + 1 - kx] · w[co, c, ky, kx]
            for (int co = 0; co < g.Cout; co++)
            for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++)
            {
                int oy = py + 1 - ky, ox = px + 1 - kx;
                if ((uint)oy < 32 && (uint)ox < 32) r += (double)gyh[((n * 128 + co) * 32 + oy) * 32 + ox] * wh[((co * 128 + c) * 3 + ky) * 3 + kx];
            }
            d = gxv[((n * 128 + c) * 32 + py) * 32 + px] - r; ex += d * d; nx += r * r;

            int wi = pick.NextInt(g.WeightSize), co2 = wi / (128 * 9), ci2 = wi / 9 % 128, ky2 = wi % 9 / 3, kx2 = wi % 3;
            r = 0;
            for (int nn = 0; nn < g.N; nn++)
            for (int oy = 0; oy < 32; oy++)
            for (int ox = 0; ox < 32; ox++)
            {
                int iy = oy - 1 + ky2, ix = ox - 1 + kx2;
                if ((uint)iy < 32 && (uint)ix < 32) r += (double)gyh[((nn * 128 + co2) * 32 + oy) * 32 + ox] * xh[((nn * 128 + ci2) * 32 + iy) * 32 + ix];
            }
            d = gwv[wi] - r; ew += d * d; nw += r * r;
        }
        double ry = Math.Sqrt(ey / ny), rx = Math.Sqrt(ex / nx), rw = Math.Sqrt(ew / nw);

        // The TF32 tensor-core kernels on the same problem (sm_80+): timed, and compared with the fp32 results.
        double[] fwdTf32 = [], dgradTf32 = [], wgradTf32 = [];
        double dy = double.NaN, dx = double.NaN, dw = double.NaN;
        if (info.Major >= 8)
        {
            using var y2 = Gpu.Poisoned(ys, dev);
            using var gx2 = Gpu.Poisoned(xs, dev);
            using var gw2 = Gpu.Poisoned(ws, dev);
            using var gb2 = Gpu.Poisoned(new Shape(g.Cout), dev);
            be.ConvTf32 = true;
            try
            {
                fwdTf32 = Time(() => be.Conv2dForward(x, w, b, y2, g));
                dgradTf32 = Time(() => be.Conv2dBackwardData(gy, w, gx2, g));
                wgradTf32 = Time(() => be.Conv2dBackwardWeight(x, gy, gw2, gb2, g));
            }
            finally { be.ConvTf32 = false; }
            static double RelDiff(float[] a, float[] b)
            {
                double e = 0, n = 0;
                for (int i = 0; i < a.Length; i++) { e += Math.Pow(a[i] - (double)b[i], 2); n += (double)b[i] * b[i]; }
                return Math.Sqrt(e / n);
            }
            dy = RelDiff(y2.ToArray(), yv); dx = RelDiff(gx2.ToArray(), gxv); dw = RelDiff(gw2.ToArray(), gwv);
        }

        double flops = g.Flops, peak = info.PeakFp32Flops;
        string Row(string name, double[] ms) =>
            $"{name,-12} median {CudaTiming.Median(ms),8:F3} ms  min {ms.Min(),8:F3}  max {ms.Max(),8:F3}  " +
            $"{flops / (CudaTiming.Median(ms) * 1e-3) / 1e12,6:F2} TFLOP/s  ({100 * flops / (CudaTiming.Median(ms) * 1e-3) / peak:F0}% of fp32 peak)";
        var kernels = new[] { "conv2d_fwd", "conv2d_dgrad", "conv2d_wgrad" }
            .Select(k => be.Modules.Get("conv2d.cu", k)).Select(k => $"{k.Name}: {k.Registers} regs, {k.LocalBytes} B local");
        var report = string.Join("\n", [
            $"device: {info}",
            $"fp32 peak (SMs x 128 x 2 x {info.ClockKHz / 1000} MHz): {peak / 1e12:F1} TFLOP/s; floor for {flops / 1e9:F1} GFLOP: {flops / peak * 1e3:F3} ms",
            $"conv2d {g}",
            Row("forward", fwd), Row("data grad", dgrad), Row("weight grad", wgrad),
            $"fwd+bwd      median {CudaTiming.Median(fwd) + CudaTiming.Median(dgrad) + CudaTiming.Median(wgrad):F3} ms",
            $"spot check vs float64 (64 samples each): y {ry:E2}, gx {rx:E2}, gw {rw:E2}",
            .. (fwdTf32.Length == 0 ? ["(no TF32: needs sm_80)"] : new[] {
                Row("fwd tf32", fwdTf32), Row("dgrad tf32", dgradTf32), Row("wgrad tf32", wgradTf32),
                $"tf32 vs fp32 over every element: y {dy:E2}, gx {dx:E2}, gw {dw:E2}" }),
            string.Join("; ", kernels)]);
        TestContext.Out.WriteLine(report);
        var outPath = Environment.GetEnvironmentVariable("AMBIENT_BENCH_OUT");
        if (!string.IsNullOrEmpty(outPath))
            File.WriteAllText(outPath, JsonSerializer.Serialize(new
            {
                device = info.ToString(), peak_tflops = peak / 1e12, gflop = flops / 1e9,
                fwd_ms = fwd, dgrad_ms = dgrad, wgrad_ms = wgrad,
                fwd_median = CudaTiming.Median(fwd), dgrad_median = CudaTiming.Median(dgrad), wgrad_median = CudaTiming.Median(wgrad),
                relerr = new { y = ry, gx = rx, gw = rw },
                tf32 = fwdTf32.Length == 0 ? null : new
                {
                    fwd_median = CudaTiming.Median(fwdTf32), dgrad_median = CudaTiming.Median(dgradTf32), wgrad_median = CudaTiming.Median(wgradTf32),
                    vs_fp32 = new { y = dy, gx = dx, gw = dw },
                },
                report,
            }, new JsonSerializerOptions { WriteIndented = true }));
        Assert.That(ry, Is.LessThan(1e-4), "forward at full size");
        Assert.That(rx, Is.LessThan(1e-4), "data grad at full size");
        Assert.That(rw, Is.LessThan(1e-4), "weight grad at full size");
        if (fwdTf32.Length > 0)
            Assert.That(new[] { dy, dx, dw }, Is.All.LessThan(3e-3), "TF32 against fp32 at full size (y, gx, gw)");
    }
}
