using AmbientNative.Autograd;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Nn;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

/// <summary>
/// The fused attention op: its float64 reference against finite differences, every CPU backend (reference loops,
/// ILGPU kernels on the CPU accelerator) against that reference with poisoned outputs at awkward sizes, and the op
/// against the GEMM + softmax composition it replaces.
/// </summary>
public class AttentionFusedOpTests
{
    [Test]
    public void Reference_gradient_matches_finite_differences_in_float64()
    {
        foreach (var (n, c, t) in new[] { (2, 3, 5), (1, 1, 7), (1, 4, 16) })
        {
            var rng = Rand.ForTest(n * 100 + c * 10 + t);
            double scale = 1 / Math.Sqrt(c);
            double[] Forward(double[] qkv)
            {
                var o = new double[n * c * t];
                AttentionRef.Forward<double>(qkv, o, new double[n * t], n, c, t, scale);
                return o;
            }
            GradCheck.Run(
                v => Forward(v[0]),
                (v, g) =>
                {
                    var o = new double[n * c * t];
                    var lse = new double[n * t];
                    AttentionRef.Forward<double>(v[0], o, lse, n, c, t, scale);
                    var gq = new double[v[0].Length];
                    AttentionRef.Backward<double>(v[0], o, lse, g, gq, n, c, t, scale);
                    return [gq];
                },
                [Rand.Normal(rng, 3 * n * c * t)], maxProbes: 200, what: $"attention N={n} C={c} T={t}");
        }
    }

    // (N, C, T): batch 1 with one token, odd sizes, more tokens than a 128-thread group (rows and columns loop), more
    // channels than a group (the channel loops), and the U-Net's 8×8 and 16×16 levels.
    [TestCase(1, 3, 1)]
    [TestCase(2, 5, 7)]
    [TestCase(1, 3, 130)]
    [TestCase(1, 130, 9)]
    [TestCase(2, 8, 64)]
    [TestCase(1, 4, 256)]
    public void Every_cpu_backend_writes_every_element_and_matches_float64(int n, int c, int tokens)
    {
        foreach (var dev in CpuDevices.All)
            AttentionFusedCheck.Run(dev.Backend, dev, Rand.ForTest(n + c + tokens), n, c, tokens, 1e-5, dev.Name);
    }

    [Test]
    public void Fused_op_matches_the_gemm_softmax_composition_forward_and_backward()
    {
        // On the fast CPU backend Nn.Attention takes the composition (PrefersFusedAttention is false there).
        var dev = Device.Cpu;
        Assert.That(dev.Backend.PrefersFusedAttention(new(2, 6, 20)), Is.False);
        var rng = Rand.ForTest();
        var shape = new Shape(2, 18, 4, 5);
        var qkv = Check.ToFloat(Rand.Normal(rng, shape.Numel));
        var gy = Tensor.Randn(new Shape(2, 6, 4, 5), rng, dev);
        (float[] Y, float[] G) Run(Func<Tensor, Tensor> attention)
        {
            using var tape = new Tape();
            var x = Tape.Own(Tensor.FromArray(qkv, shape, dev).RequireGrad());
            var y = attention(x);
            tape.Backward(y, gy);
            return (y.ToArray(), x.Grad!.ToArray());
        }
        var fused = Run(Ops_.AttentionFused);
        var composed = Run(Attention.Forward);
        Check.Close(fused.Y, composed.Y, 1e-5, "output");
        Check.Close(fused.G, composed.G, 1e-5, "gradient");
        gy.Dispose();
    }

    [Test]
    public void A_qkv_without_three_parts_is_named()
    {
        using var tape = new Tape();
        var x = Tape.Own(Tensor.Full(new Shape(2, 5, 3, 3), 0.5f));
        Assert.That(() => Ops_.AttentionFused(x), Throws.ArgumentException.With.Message.Contains("AttentionFused: qkv [2, 5, 3, 3] must have 3·C channels"));
    }
}
