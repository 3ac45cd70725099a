using AmbientNative.Autograd;
using AmbientNative.Backends;
using AmbientNative.Backends.Cuda;
using AmbientNative.Nn;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Gpu;

/// <summary>
/// Attention at the reference U-Net's 16×16 level (T = 256 tokens, C = 128, batch 256), forward and forward + backward
/// through the tape: the GEMM + softmax composition on our CUDA C kernels, the fused CUDA C kernels (kernels/attention.cu),
/// and (with the device in ILGPU's context, AMBIENT_CUDA_CONTEXT=ilgpu) the fused ILGPU kernels on the same input. CUDA events, median of 10 after 2 warm-ups;
/// TFLOP/s are the composition's useful work for both paths (4·N·T²·C forward, 12·N·T²·C forward + backward; the fused
/// backward also recomputes QKᵀ, not counted), so the rates compare like the times. Also prints each fused path's
/// relative difference from the composition. Runs only with AMBIENT_GPU_BENCH=1.
/// </summary>
[Category("GpuBench")]
public class CudaAttentionBenchmark
{
    private const int N = 256, C = 128, H = 16, W = 16;

    [Test]
    public void Fused_attention_vs_gemm_softmax_composition_at_16x16()
    {
        if (Environment.GetEnvironmentVariable("AMBIENT_GPU_BENCH") != "1") Assert.Ignore("set AMBIENT_GPU_BENCH=1 to run the GPU benchmark");
        var be = Gpu.Backend();
        var dev = be.Device;
        var rng = Rand.ForTest();
        using var qkv = Tensor.Randn(new Shape(N, 3 * C, H, W), rng, dev).RequireGrad();
        using var gy = Tensor.Randn(new Shape(N, C, H, W), rng, dev);
        double t2c = (double)N * (H * W) * (H * W) * C;
        var lines = new List<string> { $"device: {be.Context.Info}; attention N={N} C={C} T={H * W}" };

        double Ms(Action work) => CudaTiming.Median(CudaTiming.Measure(be.Context, work, warmup: 2, reps: 10));
        void Report(string name, double flops, double ms) => lines.Add($"{name,-44} {ms,8:F3} ms  {flops / ms / 1e9,6:F1} TFLOP/s");
        float[] Output()
        {
            using var tape = new Tape();
            return Attention.Forward(qkv).ToArray();
        }
        void Forward() { using var tape = new Tape(); Attention.Forward(qkv); }
        void ForwardBackward() { using var tape = new Tape(); tape.Backward(Attention.Forward(qkv), gy); qkv.ZeroGrad(); }

        void Difference(string name, float[] fused, float[] composed)
        {
            double num = 0, den = 0;
            for (int i = 0; i < fused.Length; i++) { num += Math.Pow(fused[i] - composed[i], 2); den += Math.Pow(composed[i], 2); }
            lines.Add($"{name} vs composition: relative difference {Math.Sqrt(num / den):E2}");
        }

        be.FusedKernels = FusedKernelSource.CudaC;
        be.FusedAttention = false;
        Assert.That(be.PrefersFusedAttention(new(N, C, H * W)), Is.False);
        var composed = Output();
        Report("composition forward", 4 * t2c, Ms(Forward));
        Report("composition forward + backward", 12 * t2c, Ms(ForwardBackward));
        be.FusedAttention = true;
        try
        {
            Assert.That(be.PrefersFusedAttention(new(N, C, H * W)), Is.True);
            Difference("CUDA C fused", Output(), composed);
            Report("CUDA C fused forward", 4 * t2c, Ms(Forward));
            Report("CUDA C fused forward + backward", 12 * t2c, Ms(ForwardBackward));
        }
        finally { be.FusedAttention = false; }
        if (be.Ilgpu != null)
        {
            be.FusedKernels = FusedKernelSource.Ilgpu;
            try
            {
                Difference("ILGPU fused", Output(), composed);
                Report("ILGPU fused forward", 4 * t2c, Ms(Forward));
                Report("ILGPU fused forward + backward", 12 * t2c, Ms(ForwardBackward));
            }
            finally { be.FusedKernels = FusedKernelSource.CudaC; }
        }
        else lines.Add("(no ILGPU context: run with AMBIENT_CUDA_CONTEXT=ilgpu for the fused kernels)");
        TestContext.Out.WriteLine(string.Join("\n", lines));
    }
}
