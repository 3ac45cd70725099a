using AmbientNative.Autograd;
using AmbientNative.Diffusion;
using AmbientNative.Diffusion.Corruption;
using AmbientNative.Diffusion.Losses;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Diffusion;

/// <summary>AmbientLoss with its fused passes (the default) against its unfused op chain: same terms and gradients to float rounding.</summary>
public class AmbientLossFusedTests
{
    private const int N = 3, C = 3, H = 6, W = 5, Image = C * H * W;
    private static readonly Shape Batch = new(N, C, H, W);

    internal static IEnumerable<TestCaseData> Cases() =>
        from d in DiffusionTestData.Devices from maskChannels in new[] { 1, C } select new TestCaseData(d, maskChannels);

    [TestCaseSource(nameof(Cases))]
    public void Fused_and_unfused_give_the_same_loss_terms_and_gradients(Device device, int maskChannels)
    {
        var fused = Step(device, maskChannels, fused: true, seed: 11);
        var chain = Step(device, maskChannels, fused: false, seed: 11);
        AssertClose(fused, chain, 1e-5);
    }

    /// <summary>
    /// One training step of a stand-in network (parameters, data and masks from <paramref name="seed"/>, so the same on
    /// every device; masks expanded over channels, fed to the network as <paramref name="maskChannels"/> channels).
    /// </summary>
    internal static (Dictionary<string, double> Terms, float[][] Grads) Step(Device device, int maskChannels, bool fused, ulong seed)
    {
        var rng = new Rng(seed);
        using var net = new StandInNet(C + maskChannels, C, Batch, rng, device);
        var spec = CorruptionSpec.PixelErase(0.4, delta: 0.4);
        var (a, t) = (new float[N * Image], new float[N * Image]);
        for (int n = 0; n < N; n++)
            CorruptionMasks.Generate(spec, rng, C, H, W, a.AsSpan(n * Image, Image), t.AsSpan(n * Image, Image));
        var x0 = new float[N * Image];
        rng.FillUniform(x0, -1f, 1f);

        var objective = new AmbientLoss(new EdmPreconditioner(net)) { Fused = fused };
        using var y = Tensor.FromArray(x0, Batch, device);
        using var ta = Tensor.FromArray(a, Batch, device);
        using var tt = Tensor.FromArray(t, Batch, device);
        using var tape = new Tape();
        var r = objective.Compute(new TrainingBatch(y, ta, tt, Clean: y), new Rng(42));
        tape.Backward(r.Loss);
        return (new Dictionary<string, double>(r.Terms), net.Parameters.Select(p => p.Grad!.ToArray()).ToArray());
    }

    internal static void AssertClose((Dictionary<string, double> Terms, float[][] Grads) actual,
        (Dictionary<string, double> Terms, float[][] Grads) expected, double tol)
    {
        Assert.That(actual.Terms.Keys, Is.EquivalentTo(expected.Terms.Keys));
        foreach (var (name, v) in expected.Terms)
            Assert.That(actual.Terms[name], Is.EqualTo(v).Within(tol * Math.Abs(v)), name);
        for (int k = 0; k < expected.Grads.Length; k++)
            Check.Close(actual.Grads[k], expected.Grads[k], tol, $"gradient of parameter {k}");
    }
}
