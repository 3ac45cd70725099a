using AmbientNative.Autograd;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Diffusion;
using AmbientNative.Diffusion.Losses;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Diffusion;

/// <summary>
/// Which noise an objective draws from its generator (Draws.Noise): σ first, then the noise from the next whole Philox
/// block (NormalRef), the generator left just after it. For an even batch that is exactly the host stream; for an odd
/// one the half block left by the σ draws is skipped.
/// </summary>
public class ObjectiveNoiseTests
{
    [TestCase(4)]
    [TestCase(5)]
    public void The_noise_is_normalref_at_the_block_after_the_sigma_draws(int n)
    {
        var shape = new Shape(n, 1, 3, 3);
        var rng = Rand.ForTest(n);
        using var y = DiffusionTestData.Uniform(rng, shape, Device.Cpu);
        var denoiser = new HostDenoiser((x, s) => 0.5 * x) { RecordInputs = true };

        var drawn = new Rng(11);
        using (var tape = new Tape()) new EdmLoss(denoiser).Compute(new TrainingBatch(y), drawn);
        var xt = denoiser.Inputs.Single();

        var replay = new Rng(11);
        var sigma = Draws.Sigmas(n, replay, Edm.PMean, Edm.PStd);
        ulong counter = replay.Counter;
        var noise = new float[shape.Numel];
        NormalRef.FillRange(noise, 0, noise.Length, 11, counter);
        var ys = y.ToArray();
        var expected = ys.Select((v, i) => v + (float)sigma[i / 9] * noise[i]).ToArray();
        Check.Close(xt, Check.ToDouble(expected), 1e-6, "xt = x0 + σ·n with n from the next whole block");
        Assert.That(drawn.Counter, Is.EqualTo(counter + NormalRef.Blocks(shape.Numel)), "the generator skips the noise's blocks");

        var host = new float[shape.Numel];
        var hostStream = new Rng(11);
        Draws.Sigmas(n, hostStream, Edm.PMean, Edm.PStd);
        hostStream.FillNormal(host);
        if (n % 2 == 0) Assert.That(noise, Is.EqualTo(host), "an even batch: the host stream, bit for bit");
        else Assert.That(noise, Is.Not.EqualTo(host), "an odd batch: the half block left by σ is skipped");
    }
}
