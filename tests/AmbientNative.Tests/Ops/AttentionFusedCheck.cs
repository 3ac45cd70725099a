using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

/// <summary>
/// One check shared by every implementation of the fused attention (reference and ILGPU on the CPU, ILGPU on a GPU):
/// forward and backward called directly on a backend, every output poisoned (NaN) first so an element a kernel forgets
/// to write shows, against the float64 reference on the same float32 data.
/// </summary>
internal static class AttentionFusedCheck
{
    public static void Run(IBackend backend, Device device, Rng rng, int n, int c, int tokens, double tol, string what)
    {
        var g = new AttentionGeometry(n, c, tokens);
        var qkv = F32(Rand.Normal(rng, (int)g.QkvSize, 1.5)); // logits of several units: a peaked softmax
        var gOut = F32(Rand.Normal(rng, (int)g.OutputSize));
        double scale = 1 / Math.Sqrt(c);
        var out64 = new double[g.OutputSize];
        var lse64 = new double[n * tokens];
        AttentionRef.Forward<double>(qkv, out64, lse64, n, c, tokens, scale);
        var gQkv64 = new double[g.QkvSize];
        AttentionRef.Backward<double>(qkv, out64, lse64, gOut, gQkv64, n, c, tokens, scale);

        Tensor T(double[] x, Shape s) => Tensor.FromArray(Check.ToFloat(x), s, device);
        Tensor Poisoned(Shape s) => Tensor.Full(s, float.NaN, device);
        Shape qkvShape = new(n, 3 * c, tokens), outShape = new(n, c, tokens);
        using Tensor tq = T(qkv, qkvShape), tg = T(gOut, outShape);
        using Tensor output = Poisoned(outShape), lse = Poisoned(new Shape(n, tokens)), gQkv = Poisoned(qkvShape);
        backend.AttentionForward(tq, output, lse, g);
        backend.AttentionBackward(tq, output, lse, tg, gQkv, g);

        what = $"{what} N={n} C={c} T={tokens}";
        Check.Close(output.ToArray(), out64, tol, $"{what}: output");
        Check.Close(lse.ToArray(), lse64, tol, $"{what}: log-sum-exp");
        Check.Close(gQkv.ToArray(), gQkv64, tol, $"{what}: gQkv");
    }

    private static double[] F32(double[] x) => Check.ToDouble(Check.ToFloat(x)); // what a float32 tensor holds
}
