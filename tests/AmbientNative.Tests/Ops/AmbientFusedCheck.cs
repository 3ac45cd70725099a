using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

/// <summary>
/// One check shared by every implementation of the fused ambient ops (ILGPU on the CPU accelerator, CUDA C and ILGPU
/// on a GPU): the input, the loss and its gradient called directly on a backend, outputs poisoned (NaN) first so an
/// element a kernel forgets to write shows, against the float64 reference on the same float32 data. The pointwise
/// outputs and the reduced loss get their own tolerances (a sum of many terms rounds more).
/// </summary>
internal static class AmbientFusedCheck
{
    public static void Run(IBackend backend, Device device, Rng rng, int n, int c, int cm, int ck, int hw,
        double elementTol, double lossTol, string what)
    {
        var g = new AmbientGeometry(n, c, cm, ck, hw);
        var y = F32(Rand.Normal(rng, (int)g.ImageSize));
        var noise = F32(Rand.Normal(rng, (int)g.ImageSize));
        var sigma = F32(Rand.Uniform(rng, n, 0.05, 5));
        var mask = Rand.Uniform(rng, (int)g.MaskSize, 0, 1).Select(u => u < 0.7 ? 1.0 : 0.0).ToArray();
        var weight = F32(Rand.Uniform(rng, n, 0.5, 3));
        var d = F32(Rand.Normal(rng, (int)g.ImageSize));
        double gLoss = F32([0.5 + rng.NextFloat()])[0];
        Shape image = new(n, c, hw), maskShape = new(n, cm, hw);

        var masked64 = new double[g.ImageSize];
        var input64 = new double[g.InputSize];
        AmbientFusedRef.Input<double>(y, noise, sigma, mask, masked64, input64, n, c, cm, ck, hw, 0.5);
        double loss64 = AmbientFusedRef.Loss<double>(d, y, mask, weight, n, c, cm, hw);
        var gd64 = new double[g.ImageSize];
        AmbientFusedRef.LossBackward<double>(d, y, mask, weight, gLoss, gd64, n, c, cm, hw);

        Tensor T(double[] x, Shape s) => Tensor.FromArray(Check.ToFloat(x), s, device);
        Tensor Poisoned(Shape s) => Tensor.Full(s, float.NaN, device);
        using Tensor ty = T(y, image), tn = T(noise, image), ts = T(sigma, new Shape(n)), tm = T(mask, maskShape),
            tw = T(weight, new Shape(n)), td = T(d, image), tg = T([gLoss], new Shape(1));
        using Tensor masked = Poisoned(image), input = Poisoned(new Shape(n, c + ck, hw)), loss = Poisoned(new Shape(1)), gd = Poisoned(image);
        var gl = g with { InputMaskChannels = 0 };
        backend.AmbientInput(ty, tn, ts, tm, masked, input, g, 0.5f);
        backend.AmbientLoss(td, ty, tm, tw, loss, gl);
        backend.AmbientLossBackward(td, ty, tm, tw, tg, gd, gl);

        what = $"{what} N={n} C={c} Cm={cm} Ck={ck} HW={hw}";
        Check.Close(masked.ToArray(), masked64, elementTol, $"{what}: masked");
        Check.Close(input.ToArray(), input64, elementTol, $"{what}: input");
        Check.Close(loss.ToArray(), [loss64], lossTol, $"{what}: loss");
        Check.Close(gd.ToArray(), gd64, elementTol, $"{what}: gD");
    }

    private static double[] F32(double[] x) => Check.ToDouble(Check.ToFloat(x)); // what a float32 tensor holds
}
