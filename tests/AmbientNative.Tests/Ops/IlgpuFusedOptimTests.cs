using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

/// <summary>
/// The ILGPU fused ambient and optimizer kernels called directly on the CPU accelerator, with every output poisoned
/// (NaN) before the launch so an element a kernel forgets to write shows, against the float64 reference.
/// </summary>
public class IlgpuFusedOptimTests
{
    private static IBackend B => Device.CpuIlgpu.Backend;
    private static Tensor T(double[] x, Shape s) => Tensor.FromArray(Check.ToFloat(x), s, Device.CpuIlgpu);
    private static double[] F32(double[] x) => Check.ToDouble(Check.ToFloat(x)); // what a float32 tensor holds

    // (N, C, Cm, Ck, HW): more images than one group has threads (the loss's final sum loops), an image larger than
    // a group, a per-channel mask with one input mask channel, batch 1.
    [TestCase(130, 1, 1, 1, 2)]
    [TestCase(2, 3, 1, 1, 67)]
    [TestCase(3, 3, 3, 1, 5)]
    [TestCase(1, 2, 2, 2, 9)]
    public void Ambient_input_loss_and_gradient_write_every_element(int n, int c, int cm, int ck, int hw) =>
        AmbientFusedCheck.Run(B, Device.CpuIlgpu, Rand.ForTest(n * 7 + c), n, c, cm, ck, hw, elementTol: 1e-6, lossTol: 1e-5, "ILGPU CPU");

    [Test]
    public void Adam_ema_and_scale_match_float64([Values(1, 333)] int n)
    {
        var rng = Rand.ForTest(n);
        var p = F32(Rand.Normal(rng, n)); var g = F32(Rand.Normal(rng, n, 0.3));
        var m = F32(Rand.Normal(rng, n, 0.1)); var v = F32(Rand.Uniform(rng, n, 1e-4, 0.2));
        var h = new AdamStepParams(Lr: 0.03, Beta1: 0.85, Beta2: 0.99, Eps: 1e-3, WeightDecay: 0.2, Step: 7);
        using Tensor tp = T(p, new Shape(n)), tg = T(g, new Shape(n)), tm = T(m, new Shape(n)), tv = T(v, new Shape(n));
        OptimRef.AdamStep<double>(p, g, m, v, h);
        B.AdamStep(tp, tg, tm, tv, h);
        Check.Close(tp.ToArray(), p, 1e-6, "Adam p");
        Check.Close(tm.ToArray(), m, 1e-6, "Adam m");
        Check.Close(tv.ToArray(), v, 1e-6, "Adam v");

        var ema = F32(Rand.Normal(rng, n));
        using var te = T(ema, new Shape(n));
        OptimRef.EmaUpdate<double>(ema, p, 0.9993);
        B.EmaUpdate(te, tp, 0.9993);
        Check.Close(te.ToArray(), ema, 1e-6, "EMA");

        var x = Check.ToDouble(tp.ToArray());
        OptimRef.ScaleInPlace<double>(x, -0.37);
        B.ScaleInPlace(tp, -0.37f);
        Check.Close(tp.ToArray(), x, 1e-6, "scale");
    }
}
