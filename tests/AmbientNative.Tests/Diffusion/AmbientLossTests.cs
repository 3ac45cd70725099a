using AmbientNative.Autograd;
using AmbientNative.Diffusion;
using AmbientNative.Diffusion.Corruption;
using AmbientNative.Diffusion.Losses;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Diffusion;

public class AmbientLossTests
{
    private const int N = 3, C = 3, H = 6, W = 5, Plane = H * W, Image = C * Plane;
    private static readonly Shape Batch = new(N, C, H, W);

    /// <summary>Masks A and Ã expanded over channels, as the dataset hands them out; δ large so A = 1, Ã = 0 pixels abound.</summary>
    private static (float[] A, float[] ATilde) Masks(Rng rng)
    {
        var spec = CorruptionSpec.PixelErase(0.4, delta: 0.4);
        var (a, t) = (new float[N * Image], new float[N * Image]);
        for (int n = 0; n < N; n++)
            CorruptionMasks.Generate(spec, rng, C, H, W, a.AsSpan(n * Image, Image), t.AsSpan(n * Image, Image));
        return (a, t);
    }

    private sealed record Run(double Loss, IReadOnlyDictionary<string, double> Terms, float[][] Grads);

    /// <summary>One training step's loss and parameter gradients, σ and noise drawn from a fixed seed.</summary>
    private static Run Step(StandInNet net, float[] x0, float[] a, float[] aTilde, Device device)
    {
        var loss = new AmbientLoss(new EdmPreconditioner(net));
        // The observation holds x0 unmasked: a dataset with anything in its erased pixels must give the same loss.
        using var y = Tensor.FromArray(x0, Batch, device);
        using var ta = Tensor.FromArray(a, Batch, device);
        using var tt = Tensor.FromArray(aTilde, Batch, device);
        using var tape = new Tape();
        var r = loss.Compute(new TrainingBatch(y, ta, tt, Clean: y), new Rng(42));
        tape.Backward(r.Loss);
        var grads = net.Parameters.Select(p => p.Grad!.ToArray()).ToArray();
        net.ZeroGrad();
        return new Run(r.Loss.Item(), r.Terms, grads);
    }

    [TestCaseSource(typeof(DiffusionTestData), nameof(DiffusionTestData.Devices))]
    public void Loss_and_gradients_ignore_x0_where_A_is_0_and_follow_it_where_A_is_1(Device device)
    {
        var rng = Rand.ForTest();
        using var net = new StandInNet(C + 1, C, Batch, rng, device);
        var (a, t) = Masks(rng);
        var x0 = new float[N * Image];
        rng.FillUniform(x0, -1f, 1f);
        var baseline = Step(net, x0, a, t, device);

        float[] Altered(Func<int, bool> where)
        {
            var x = (float[])x0.Clone();
            int count = 0;
            for (int i = 0; i < x.Length; i++)
                if (where(i)) { x[i] = -x[i] + 0.5f * rng.NextFloat(); count++; }
            Assert.That(count, Is.GreaterThan(0), "no pixel to alter");
            return x;
        }

        // Erased pixels: nothing the objective back-propagates may change, to the last bit.
        var erased = Step(net, Altered(i => a[i] == 0), a, t, device);
        Assert.That(erased.Loss, Is.EqualTo(baseline.Loss), "loss with x0 altered where A = 0");
        Assert.That(erased.Terms["loss_atilde"], Is.EqualTo(baseline.Terms["loss_atilde"]), "Ã-pixel loss");
        for (int k = 0; k < baseline.Grads.Length; k++)
            Assert.That(erased.Grads[k], Is.EqualTo(baseline.Grads[k]), $"gradient of {net.Parameters[k].Name} with x0 altered where A = 0");
        Assert.That(erased.Terms["loss_all"], Is.Not.EqualTo(baseline.Terms["loss_all"]), "the all-pixel diagnostic does see the change");

        // Observed but hidden from the network (A = 1, Ã = 0): the loss sees them, the network input does not.
        var hidden = Step(net, Altered(i => a[i] == 1 && t[i] == 0), a, t, device);
        Assert.That(hidden.Loss, Is.Not.EqualTo(baseline.Loss), "loss with x0 altered where A = 1, Ã = 0");
        Assert.That(hidden.Terms["loss_atilde"], Is.EqualTo(baseline.Terms["loss_atilde"]), "Ã-pixel loss ignores A-only pixels");
        for (int k = 0; k < baseline.Grads.Length; k++)
            Assert.That(hidden.Grads[k], Is.Not.EqualTo(baseline.Grads[k]), $"gradient of {net.Parameters[k].Name} with x0 altered where A = 1, Ã = 0");

        // Shown to the network (Ã = 1).
        var shown = Step(net, Altered(i => t[i] == 1), a, t, device);
        Assert.That(shown.Loss, Is.Not.EqualTo(baseline.Loss), "loss with x0 altered where Ã = 1");
        Assert.That(shown.Terms["loss_atilde"], Is.Not.EqualTo(baseline.Terms["loss_atilde"]), "Ã-pixel loss with x0 altered where Ã = 1");
    }

    [TestCaseSource(typeof(DiffusionTestData), nameof(DiffusionTestData.Devices))]
    public void Loss_terms_and_output_gradient_match_the_formulas(Device device)
    {
        var rng = Rand.ForTest();
        using var net = new StandInNet(C + 1, C, Batch, rng, device);
        var (a, t) = Masks(rng);
        var x0 = new float[N * Image];
        rng.FillUniform(x0, -1f, 1f);
        var clean = (float[])x0.Clone();
        for (int i = 0; i < x0.Length; i++) x0[i] *= a[i];         // y = A⊙x0, as the dataset holds it
        double[] sigma = [0.05, 0.9, 12];
        var noise = new float[N * Image];
        rng.FillNormal(noise);
        const double sd = Edm.SigmaData;

        foreach (var hidden in new[] { HiddenPixelPreconditioning.Reference, HiddenPixelPreconditioning.AsInfiniteNoise })
        foreach (bool fused in new[] { true, false })
        foreach (bool oneChannelMasks in new[] { false, true })
        {
            var pre = new EdmPreconditioner(net) { HiddenPixels = hidden };
            bool inf = hidden == HiddenPixelPreconditioning.AsInfiniteNoise;
            int mc = oneChannelMasks ? 1 : C;
            using var y = Tensor.FromArray(x0, Batch, device);
            using var tc = Tensor.FromArray(clean, Batch, device);
            using var ta = Tensor.FromArray(FirstChannels(a, mc), new Shape(N, mc, H, W), device);
            using var tt = Tensor.FromArray(FirstChannels(t, mc), new Shape(N, mc, H, W), device);
            using var tn = Tensor.FromArray(noise, Batch, device);
            using var tape = new Tape();
            net.Outputs.Clear();
            var r = new AmbientLoss(pre) { Fused = fused }.Compute(new TrainingBatch(y, ta, tt, tc), sigma, tn);
            tape.Backward(r.Loss);

            // D from the network's recorded output F and the known input: D = c_skip·Ã⊙(y + σn) + s·F, with s = c_out
            // (Reference) or Ã·c_out + (1 − Ã)·σd (AsInfiniteNoise); the back-propagated weight is λ on A's pixels
            // (Reference) or λ on Ã's and 1/σd² on A − Ã's (AsInfiniteNoise).
            var f = net.Outputs.Single();
            double lossA = 0, lossT = 0, lossAll = 0;
            var gradF = new double[f.Length];
            for (int i = 0; i < f.Length; i++)
            {
                double s = sigma[i / Image], lam = Edm.LossWeight(s);
                double scale = inf ? t[i] * Edm.COut(s) + (1 - t[i]) * sd : Edm.COut(s);
                double weight = inf ? t[i] * lam + (a[i] - t[i]) / (sd * sd) : a[i] * lam;
                double d = Edm.CSkip(s) * t[i] * (x0[i] + s * noise[i]) + scale * f[i];
                lossA += weight * (d - x0[i]) * (d - x0[i]) / N;
                lossT += lam * t[i] * (d - x0[i]) * (d - x0[i]) / N;
                lossAll += lam * (d - clean[i]) * (d - clean[i]) / N;
                gradF[i] = 2.0 / N * weight * (d - x0[i]) * scale;
            }
            string what = $"({hidden}, {(fused ? "fused" : "unfused")}, {mc}-channel masks on {device})";
            DiffusionTestData.Near(r.Loss.Item(), lossA, 1e-5, $"back-propagated loss {what}");
            Assert.That(r.Terms["loss"], Is.EqualTo(r.Loss.Item()), "the logged loss is the back-propagated one");
            DiffusionTestData.Near(r.Terms["loss_atilde"], lossT, 1e-5, $"loss on Ã's pixels {what}");
            DiffusionTestData.Near(r.Terms["loss_all"], lossAll, 1e-5, $"loss on all pixels {what}");
            Check.Close(net.Offset.Grad!.ToArray(), gradF, 1e-5, $"∂loss/∂F = 2/N·w·s⊙(D − y) {what}");
            net.ZeroGrad();
        }
    }

    [Test]
    public void Edm_loss_and_output_gradient_match_the_formulas()
    {
        var rng = Rand.ForTest();
        using var net = new StandInNet(C, C, Batch, rng, Device.Cpu);
        var x0 = new float[N * Image];
        rng.FillUniform(x0, -1f, 1f);
        var noise = new float[N * Image];
        rng.FillNormal(noise);
        double[] sigma = [0.02, 0.5, 30];
        using var y = Tensor.FromArray(x0, Batch);
        using var tn = Tensor.FromArray(noise, Batch);
        using var tape = new Tape();
        var r = new EdmLoss(new EdmPreconditioner(net)).Compute(new TrainingBatch(y), sigma, tn);
        tape.Backward(r.Loss);

        var f = net.Outputs.Single();
        double loss = 0;
        var gradF = new double[f.Length];
        for (int i = 0; i < f.Length; i++)
        {
            double s = sigma[i / Image], lam = Edm.LossWeight(s);
            double d = Edm.CSkip(s) * (x0[i] + s * noise[i]) + Edm.COut(s) * f[i];
            loss += lam * (d - x0[i]) * (d - x0[i]) / N;
            gradF[i] = 2.0 / N * lam * (d - x0[i]) * Edm.COut(s);
        }
        DiffusionTestData.Near(r.Loss.Item(), loss, 1e-5, "λ(σ)·‖D(x0 + σn; σ) − x0‖², summed over pixels, averaged over the batch");
        Check.Close(net.Offset.Grad!.ToArray(), gradF, 1e-5, "∂loss/∂F = 2/N·λ·c_out·(D − x0)");
    }

    [Test]
    public void Draws_are_reproducible_from_the_seed()
    {
        var rng = Rand.ForTest();
        using var net = new StandInNet(C, C, Batch, rng, Device.Cpu);
        var loss = new EdmLoss(new EdmPreconditioner(net));
        using var x0 = DiffusionTestData.Uniform(rng, Batch, Device.Cpu);
        double Value(ulong seed)
        {
            using var tape = new Tape();
            return loss.Compute(new TrainingBatch(x0), new Rng(seed)).Loss.Item();
        }
        Assert.That(Value(7), Is.EqualTo(Value(7)));
        Assert.That(Value(7), Is.Not.EqualTo(Value(8)));
    }

    [Test]
    public void Bad_batches_give_clear_errors()
    {
        var rng = Rand.ForTest();
        using var net = new StandInNet(C + 1, C, Batch, rng, Device.Cpu);
        using var plainNet = new StandInNet(C, C, Batch, rng, Device.Cpu);
        var loss = new AmbientLoss(new EdmPreconditioner(net));
        using var y = DiffusionTestData.Uniform(rng, Batch, Device.Cpu);
        using var mask = Tensor.Full(Batch, 1f);
        using var badMask = Tensor.Full(new Shape(N, 2, H, W), 1f);
        using var noise = Tensor.Full(Batch, 0.5f);
        using var badNoise = Tensor.Full(new Shape(N, C, H, W + 1), 0.5f);
        double[] sigma = [1, 1, 1];

        Assert.That(() => new AmbientLoss(new EdmPreconditioner(plainNet)), Throws.ArgumentException.With.Message.Contains("no mask channels"));
        Assert.That(() => loss.Compute(new TrainingBatch(y, mask, mask), sigma, noise), Throws.InvalidOperationException.With.Message.Contains("Tape"));
        using var tape = new Tape();
        Assert.That(() => loss.Compute(new TrainingBatch(y), new Rng(1)), Throws.ArgumentException.With.Message.Contains("has no mask A"));
        Assert.That(() => loss.Compute(new TrainingBatch(y, mask, badMask), sigma, noise),
            Throws.ArgumentException.With.Message.Contains("mask Ã [3, 2, 6, 5] must be [3, 1, 6, 5] or [3, 3, 6, 5]"));
        Assert.That(() => loss.Compute(new TrainingBatch(y, mask, mask), sigma, badNoise), Throws.ArgumentException.With.Message.Contains("noise [3, 3, 6, 6]"));
        Assert.That(() => loss.Compute(new TrainingBatch(y, mask, mask), [1, 1], noise), Throws.ArgumentException.With.Message.Contains("2 noise levels for a batch of 3"));
        Assert.That(() => loss.Compute(new TrainingBatch(y, mask, mask), [1, 0, 1], noise), Throws.ArgumentException.With.Message.Contains("noise level 0"));
    }

    private static float[] FirstChannels(float[] expanded, int channels)
    {
        var r = new float[N * channels * Plane];
        for (int n = 0; n < N; n++)
            expanded.AsSpan(n * Image, channels * Plane).CopyTo(r.AsSpan(n * channels * Plane));
        return r;
    }
}
