using AmbientNative.Backends;
using AmbientNative.Backends.Cpu;
using AmbientNative.Backends.Cpu.Fast;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

/// <summary>
/// The fast CPU dropout mask and optimizer updates are bit-identical to the reference (same Philox words, same float
/// operations in the same order): checked with exact equality at sizes with SIMD tails, partial Philox blocks, and
/// above the 64K-element parallel threshold, and with the block counter crossing 2³² (the carry into Philox's second
/// counter word).
/// </summary>
public class FastDropoutOptimTests
{
    private static readonly int[] Sizes = [1, 3, 31, 32, 33, 1000, 70_001];

    [Test]
    public void Simd_philox_blocks_are_the_scalar_ones()
    {
        if (!PhiloxSimd.IsSupported) Assert.Ignore("no AVX-512 on this machine: the scalar Philox path runs");
        Span<uint> simd = stackalloc uint[32], scalar = stackalloc uint[4];
        foreach (var (key, counter) in new[] { (7UL, 0UL), (0x1234_5678_9ABC_DEF0UL, (1UL << 32) - 5), (ulong.MaxValue, ulong.MaxValue - 3) })
        {
            PhiloxSimd.Block8(key, counter, simd);
            for (int b = 0; b < 8; b++)
            {
                Rng.Block(key, counter + (ulong)b, scalar);
                Assert.That(simd.Slice(4 * b, 4).ToArray(), Is.EqualTo(scalar.ToArray()), $"key {key:x} block {counter + (ulong)b:x}");
            }
        }
    }

    [Test]
    public void Dropout_mask_is_the_reference_bit_for_bit([Values(true, false)] bool simd)
    {
        if (simd && !PhiloxSimd.IsSupported) Assert.Ignore("no AVX-512 on this machine");
        foreach (int n in Sizes)
            foreach (ulong counter in new[] { 3UL, (1UL << 32) - 5 })
            {
                var rng = Rand.ForTest(n);
                var x = Check.ToFloat(Rand.Normal(rng, n));
                var expected = new float[n];
                DropoutRef.Apply<float>(x, expected, 0.13, 42, counter);
                var y = Enumerable.Repeat(float.NaN, n).ToArray();
                FastCpuBackend.DropoutMask(x, y, n, 0.13f, 42, counter, simd);
                Assert.That(y, Is.EqualTo(expected), $"n = {n}, counter {counter:x}, simd {simd}");
            }
    }

    [Test]
    public void Adam_and_ema_are_the_reference_bit_for_bit()
    {
        var h = new AdamStepParams(Lr: 0.03, Beta1: 0.85, Beta2: 0.99, Eps: 1e-3, WeightDecay: 0.2, Step: 7);
        foreach (int n in Sizes)
        {
            var rng = Rand.ForTest(n);
            float[] F(double[] a) => Check.ToFloat(a);
            float[] p = F(Rand.Normal(rng, n)), g = F(Rand.Normal(rng, n, 0.3)), m = F(Rand.Normal(rng, n, 0.1)), v = F(Rand.Uniform(rng, n, 1e-4, 0.2));
            float[] rp = (float[])p.Clone(), rm = (float[])m.Clone(), rv = (float[])v.Clone();
            OptimRef.AdamStep<float>(rp, g, rm, rv, h);
            using Tensor tp = Tensor.FromArray(p, new Shape(n)), tg = Tensor.FromArray(g, new Shape(n)),
                tm = Tensor.FromArray(m, new Shape(n)), tv = Tensor.FromArray(v, new Shape(n));
            Device.Cpu.Backend.AdamStep(tp, tg, tm, tv, h);
            Assert.That(tp.ToArray(), Is.EqualTo(rp), $"Adam p, n = {n}");
            Assert.That(tm.ToArray(), Is.EqualTo(rm), $"Adam m, n = {n}");
            Assert.That(tv.ToArray(), Is.EqualTo(rv), $"Adam v, n = {n}");

            var ema = (float[])m.Clone();
            OptimRef.EmaUpdate<float>(ema, p, 0.993);
            using Tensor te = Tensor.FromArray(m, new Shape(n)), tsrc = Tensor.FromArray(p, new Shape(n));
            Device.Cpu.Backend.EmaUpdate(te, tsrc, 0.993);
            Assert.That(te.ToArray(), Is.EqualTo(ema), $"EMA, n = {n}");
        }
    }
}
