using AmbientNative.Autograd;
using AmbientNative.Backends;
using AmbientNative.Backends.Cuda;
using AmbientNative.Nn;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Gpu;

/// <summary>The fused CUDA C attention (kernels/attention.cu), forward and backward, against the float64 reference.</summary>
[Category("Gpu")]
public class CudaAttentionTests
{
    // (N, C, T): one token and one channel; sizes around the 32-query tile and the 16-channel staging step; the
    // U-Net's 8×8 and 16×16 levels; the largest channel count and token count the kernel takes.
    [TestCase(1, 1, 1)]
    [TestCase(2, 3, 5)]
    [TestCase(1, 17, 31)]
    [TestCase(3, 16, 32)]
    [TestCase(2, 33, 33)]
    [TestCase(2, 64, 64)]
    [TestCase(1, 130, 100)]
    [TestCase(2, 128, 256)]
    [TestCase(1, 256, 255)]
    public void Fused_attention_matches_float64(int n, int c, int tokens)
    {
        var be = Gpu.Backend();
        Ops.AttentionFusedCheck.Run(be, be.Device, Rand.ForTest(n + c + tokens), n, c, tokens, 1e-4, "CUDA C");
    }

    [Test]
    public void Nn_attention_takes_the_fused_kernel_when_asked_and_agrees_with_the_composition()
    {
        var be = Gpu.Backend();
        var rng = Rand.ForTest();
        using var qkv = Tensor.Randn(new Shape(2, 3 * 24, 6, 6), rng, be.Device).RequireGrad();
        using var gy = Tensor.Randn(new Shape(2, 24, 6, 6), rng, be.Device);
        (float[] Out, float[] Grad) Run()
        {
            using var tape = new Tape();
            var y = Attention.Forward(qkv);
            tape.Backward(y, gy);
            var r = (y.ToArray(), qkv.Grad!.ToArray());
            qkv.ZeroGrad();
            return r;
        }
        var g = new AttentionGeometry(2, 24, 36);
        Assert.That(be.PrefersFusedAttention(g), Is.False, "off by default");
        var composed = Run();
        be.FusedAttention = true;
        be.KernelTimes = new(); // names every kernel launched
        try
        {
            Assert.That(be.PrefersFusedAttention(g), Is.True);
            var fused = Run();
            Assert.That(be.KernelTimes.Keys, Is.SupersetOf(new[] { "attention_forward", "attention_backward_rows", "attention_backward_columns" }));
            Check.Close(fused.Out, Check.ToDouble(composed.Out), 1e-5, "output");
            Check.Close(fused.Grad, Check.ToDouble(composed.Grad), 1e-5, "gradient");
            Assert.That(be.PrefersFusedAttention(new(2, 24, CudaBackend.FusedAttentionMaxTokens + 1)), Is.False, "too many tokens: the composition");
        }
        finally { be.FusedAttention = false; be.KernelTimes = null; }
    }

    [Test]
    public void Sizes_beyond_the_kernel_are_refused_with_the_limits()
    {
        var be = Gpu.Backend();
        var g = new AttentionGeometry(1, 4, CudaBackend.FusedAttentionMaxTokens + 1);
        using var qkv = Tensor.Zeros(new Shape(1, 12, g.Tokens), be.Device);
        using var output = Tensor.Zeros(new Shape(1, 4, g.Tokens), be.Device);
        using var lse = Tensor.Zeros(new Shape(1, g.Tokens), be.Device);
        var e = Assert.Throws<ArgumentException>(() => be.AttentionForward(qkv, output, lse, g))!;
        Assert.That(e.Message, Does.Contain("257 tokens").And.Contain("1..256 tokens"));
        var fits = new AttentionGeometry(1, 4, 16);
        using var small = Tensor.Zeros(new Shape(1, 4, 16), be.Device);
        using var smallLse = Tensor.Zeros(new Shape(1, 16), be.Device);
        var sizes = Assert.Throws<ArgumentException>(() => be.AttentionForward(small, small, smallLse, fits))!;
        Assert.That(sizes.Message, Does.Contain("qkv [1, 4, 16] holds 64 values").And.Contain("need 192"));
    }
}
