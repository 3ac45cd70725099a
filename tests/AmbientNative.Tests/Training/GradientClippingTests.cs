using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;
using AmbientNative.Training;
using static AmbientNative.Tests.Training.TrainingTestData;

namespace AmbientNative.Tests.Training;

public class GradientClippingTests
{
    private static IEnumerable<Device> Devices => TrainingTestData.Devices;

    // torch.nn.utils.clip_grad_norm_([a, b], max_norm=1.0) in float64 (benchmarks/anchors/optim_reference.py).
    private static readonly double[] GradA = [3.0, -4.0, 12.0], GradB = [84.0, 0.5, -0.5, 0.0];
    private const double TorchClipNorm = 85.00294112558694; // √(9 + 16 + 144 + 7056 + 0.25 + 0.25) = √7225.5
    private static readonly double[] TorchClippedA = [0.03529289604550009, -0.04705719472733345, 0.14117158418200035];
    private static readonly double[] TorchClippedB = [0.9882010892740024, 0.005882149340916681, -0.005882149340916681, 0.0];

    [Test]
    public void Clips_to_max_norm_and_returns_the_norm_before([ValueSource(nameof(Devices))] Device device)
    {
        using var a = Param("a", [1, 2, 3], device);
        using var b = Param("b", [1, 2, 3, 4], device, shape: [2, 2]);
        using var noGrad = Param("c", [5, 6], device);
        SetGrad(a, GradA); SetGrad(b, GradB);

        Assert.That(GradientClipping.GlobalNorm([a, b, noGrad]), Is.EqualTo(Math.Sqrt(7225.5)).Within(1e-12).Percent);
        double norm = GradientClipping.ClipGlobalNorm([a, b, noGrad], maxNorm: 1.0);
        Assert.That(norm, Is.EqualTo(TorchClipNorm).Within(1e-12).Percent);
        Check.Close(a.Grad!.ToArray(), TorchClippedA, 1e-6, "a");
        Check.Close(b.Grad!.ToArray(), TorchClippedB, 1e-6, "b");
        Assert.That(GradientClipping.GlobalNorm([a, b]), Is.EqualTo(1.0).Within(1e-5), "norm after clipping");
        Assert.That(noGrad.Grad, Is.Null);
    }

    [Test]
    public void Leaves_gradients_alone_when_norm_is_within_max([ValueSource(nameof(Devices))] Device device)
    {
        using var a = Param("a", [1, 2, 3], device);
        SetGrad(a, GradA); // norm 13
        Assert.That(GradientClipping.ClipGlobalNorm([a], maxNorm: 13.5), Is.EqualTo(13).Within(1e-12));
        Assert.That(a.Grad!.ToArray(), Is.EqualTo(Check.ToFloat(GradA)));
    }

    [Test]
    public void A_non_finite_gradient_gives_a_non_finite_norm_and_is_not_repaired([Values(double.NaN, double.PositiveInfinity)] double bad)
    {
        using var a = Param("a", [1, 2, 3], Device.Cpu);
        using var b = Param("b", [1, 2], Device.Cpu);
        SetGrad(a, GradA); SetGrad(b, [bad, 1.0]);
        double norm = GradientClipping.ClipGlobalNorm([a, b], maxNorm: 1.0);
        Assert.That(double.IsFinite(norm), Is.False);
        Assert.That(a.Grad!.ToArray(), Is.EqualTo(Check.ToFloat(GradA)), "gradients untouched");
        Assert.That(Device.Cpu.Backend.AllFinite(b.Grad!), Is.False);
    }

    [Test]
    public void Max_norm_must_be_positive()
    {
        using var a = Param("a", [1], Device.Cpu);
        Assert.That(() => GradientClipping.ClipGlobalNorm([a], 0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("max norm"));
    }
}
