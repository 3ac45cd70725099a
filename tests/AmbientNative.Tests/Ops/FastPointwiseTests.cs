using AmbientNative.Backends;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

/// <summary>
/// FastCpuBackend.Pointwise.cs against the reference backend with exact equality (same float operations in the same
/// order), at sizes with SIMD tails, single rows, and above the 64K-element parallel threshold. The op fixtures check
/// the reference itself against float64; this pins the fast paths to it bit for bit.
/// </summary>
public class FastPointwiseTests
{
    private static IBackend Fast => Device.Cpu.Backend;
    private static IBackend Reference => Device.CpuReference.Backend;

    private static (Tensor Fast, Tensor Ref) Pair(Shape s, Rng rng, float scale = 1f)
    {
        var host = Check.ToFloat(Rand.Normal(rng, s.Numel, scale));
        return (Tensor.FromArray(host, s, Device.Cpu), Tensor.FromArray(host, s, Device.CpuReference));
    }

    private static void Same(Tensor fast, Tensor reference, string what) =>
        Assert.That(fast.ToArray(), Is.EqualTo(reference.ToArray()), what);

    [TestCase(1, 7)]
    [TestCase(3, 33)]
    [TestCase(1024, 256)]   // the attention probabilities of a 16×16 level at batch 4: parallel rows
    [TestCase(70_001, 1)]   // rows of one element
    public void Softmax_and_backward(int rows, int n)
    {
        var rng = Rand.ForTest(rows + n);
        var s = new Shape(rows, n);
        var (xf, xr) = Pair(s, rng, 3f);
        var (gf, gr) = Pair(s, rng);
        using Tensor yf = Tensor.Empty(s, Device.Cpu), yr = Tensor.Empty(s, Device.CpuReference);
        using Tensor dxf = Tensor.Empty(s, Device.Cpu), dxr = Tensor.Empty(s, Device.CpuReference);
        Fast.Softmax(xf, yf); Reference.Softmax(xr, yr);
        Same(yf, yr, "softmax");
        Fast.SoftmaxBackward(yf, gf, dxf); Reference.SoftmaxBackward(yr, gr, dxr);
        Same(dxf, dxr, "softmax backward");
        foreach (var t in new[] { xf, xr, gf, gr }) t.Dispose();
    }

    [TestCase(1, 1, 1, 1)]
    [TestCase(2, 3, 5, 7)]
    [TestCase(4, 64, 16, 16)]  // a U-Net upsampling: parallel rows
    public void Upsample_and_backward(int n, int c, int h, int w)
    {
        var rng = Rand.ForTest(n * c + h * w);
        Shape small = new(n, c, h, w), big = new(n, c, 2 * h, 2 * w);
        var (xf, xr) = Pair(small, rng);
        var (gf, gr) = Pair(big, rng);
        using Tensor yf = Tensor.Full(big, float.NaN, Device.Cpu), yr = Tensor.Empty(big, Device.CpuReference);
        using Tensor dxf = Tensor.Full(small, float.NaN, Device.Cpu), dxr = Tensor.Empty(small, Device.CpuReference);
        Fast.Upsample2x(xf, yf); Reference.Upsample2x(xr, yr);
        Same(yf, yr, "upsample");
        Fast.Upsample2xBackward(gf, dxf); Reference.Upsample2xBackward(gr, dxr);
        Same(dxf, dxr, "upsample backward");
        foreach (var t in new[] { xf, xr, gf, gr }) t.Dispose();
    }

    [TestCase(1)]
    [TestCase(37)]
    [TestCase(70_001)]
    public void Affine_and_add_in_place(int n)
    {
        var rng = Rand.ForTest(n);
        var s = new Shape(n);
        var (xf, xr) = Pair(s, rng);
        var (yf, yr) = Pair(s, rng);
        using Tensor af = Tensor.Full(s, float.NaN, Device.Cpu), ar = Tensor.Empty(s, Device.CpuReference);
        Fast.Affine(xf, 0.37f, -1.3f, af); Reference.Affine(xr, 0.37f, -1.3f, ar);
        Same(af, ar, "affine");
        Fast.AddInPlace(yf, xf, -0.71f); Reference.AddInPlace(yr, xr, -0.71f);
        Same(yf, yr, "add in place");
        foreach (var t in new[] { xf, xr, yf, yr }) t.Dispose();
    }
}
