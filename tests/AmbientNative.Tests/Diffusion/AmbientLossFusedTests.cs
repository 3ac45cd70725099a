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
        var rng = Rand.ForTest();
        using var net = new StandInNet(C + maskChannels, C, Batch, rng, device);
        var spec = CorruptionSpec.PixelErase(0.4, delta: 0.4);
        var (a, t) = (new float[N * Image], new float[N * Image]);
        for (int n = 0; n < N; n++)
            CorruptionMasks.Generate(spec, rng, C, H, W, a.AsSpan(n * Image, Image), t.AsSpan(n * Image, Image));
        var x0 = new float[N * Image];
        rng.FillUniform(x0, -1f, 1f);

        (Dictionary<string, double> Terms, float[][] Grads) Step(bool fused)
        {
            var objective = new AmbientLoss(new EdmPreconditioner(net)) { Fused = fused };
            using var y = Tensor.FromArray(x0, Batch, device);
            using var ta = Tensor.FromArray(a, Batch, device);
            using var tt = Tensor.FromArray(t, Batch, device);
            using var tape = new Tape();
            var r = objective.Compute(new TrainingBatch(y, ta, tt, Clean: y), new Rng(42));
            tape.Backward(r.Loss);
            var grads = net.Parameters.Select(p => p.Grad!.ToArray()).ToArray();
            net.ZeroGrad();
            return (new Dictionary<string, double>(r.Terms), grads);
        }

        var fusedRun = Step(fused: true);
        var chainRun = Step(fused: false);
        Assert.That(fusedRun.Terms.Keys, Is.EquivalentTo(chainRun.Terms.Keys));
        foreach (var (name, v) in chainRun.Terms)
            Assert.That(fusedRun.Terms[name], Is.EqualTo(v).Within(1e-5 * Math.Abs(v)), name);
        for (int k = 0; k < chainRun.Grads.Length; k++)
            Check.Close(fusedRun.Grads[k], chainRun.Grads[k], 1e-5, $"gradient of {net.Parameters[k].Name}");
    }
}
