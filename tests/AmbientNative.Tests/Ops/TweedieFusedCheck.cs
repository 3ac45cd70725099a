using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

/// <summary>
/// One check shared by every implementation of the fused Tweedie loss (reference and ILGPU on the CPU, CUDA C and
/// ILGPU on a GPU): loss and gradient called directly on a backend, outputs poisoned (NaN) first so an element a kernel
/// forgets to write shows, against the float64 reference on the same float32 data. With more than one image the last sits at σ = σn (a = 0,
/// xt = x_tn: no loss, zero gradient), as a training batch's floored draws do; a single image never does, or the
/// whole check would compare zeros with zeros.
/// </summary>
internal static class TweedieFusedCheck
{
    public static void Run(IBackend backend, Device device, Rng rng, int n, int size, double elementTol, double lossTol, string what)
    {
        var g = new TweedieGeometry(n, size);
        const double sigmaN = 0.2;
        var sigma = Rand.Uniform(rng, n, sigmaN, 0.6); // a = 1 − σn²/σ² well below 1, so a dropped factor shows
        if (n > 1) sigma[n - 1] = sigmaN;
        var xtn = F32(Rand.Normal(rng, (int)g.Size));
        var noise = Rand.Normal(rng, (int)g.Size);
        var xt = F32(xtn.Select((v, k) => v + Math.Sqrt(Sq(sigma[k / size]) - Sq(sigmaN)) * noise[k]).ToArray());
        var coefficients = F32(Coefficients(sigma, sigmaN));
        var d = F32(Rand.Normal(rng, (int)g.Size));
        double gLoss = F32([0.5 + rng.NextFloat()])[0];

        double loss64 = TweedieFusedRef.Loss<double>(d, xt, xtn, coefficients, n, size);
        var gd64 = new double[g.Size];
        TweedieFusedRef.LossBackward<double>(d, xt, xtn, coefficients, gLoss, gd64, n, size);

        Shape image = new(n, size);
        Tensor T(double[] x, Shape s) => Tensor.FromArray(Check.ToFloat(x), s, device);
        using Tensor td = T(d, image), txt = T(xt, image), txtn = T(xtn, image), tc = T(coefficients, new Shape(n, 3)), tg = T([gLoss], new Shape(1));
        using Tensor loss = Tensor.Full(new Shape(1), float.NaN, device), gd = Tensor.Full(image, float.NaN, device);
        backend.TweedieLoss(td, txt, txtn, tc, loss, g);
        float first = loss.ToArray()[0];
        backend.Fill(loss, float.NaN); // the second call must write it again (on CUDA: the first launch reset its ticket)
        backend.TweedieLoss(td, txt, txtn, tc, loss, g);
        backend.TweedieLossBackward(td, txt, txtn, tc, tg, gd, g);

        what = $"{what} N={n} size={size}";
        Check.Close([first], [loss64], lossTol, $"{what}: loss");
        Assert.That(loss.ToArray()[0], Is.EqualTo(first), $"{what}: the loss is summed in a fixed order (bitwise reproducible)");
        var gdOut = gd.ToArray();
        Check.Close(gdOut, gd64, elementTol, $"{what}: gD");
        if (n > 1) Assert.That(gdOut.Skip((n - 1) * size), Is.All.EqualTo(0f), $"{what}: an image at σ = σn gets no gradient");
    }

    /// <summary>Rows (a, b, λ) = (1 − σn²/σ², σn²/σ², λ(σ)) per image, as TweedieLoss builds them.</summary>
    public static double[] Coefficients(double[] sigma, double sigmaN) => sigma.SelectMany(s =>
        new[] { 1 - Sq(sigmaN / s), Sq(sigmaN / s), global::AmbientNative.Diffusion.Edm.LossWeight(s) }).ToArray();

    private static double Sq(double x) => x * x;
    private static double[] F32(double[] x) => Check.ToDouble(Check.ToFloat(x)); // what a float32 tensor holds
}
