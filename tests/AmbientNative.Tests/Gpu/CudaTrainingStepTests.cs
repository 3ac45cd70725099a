using AmbientNative.Autograd;
using AmbientNative.Data;
using AmbientNative.Diffusion;
using AmbientNative.Diffusion.Corruption;
using AmbientNative.Diffusion.Losses;
using AmbientNative.Backends.Cuda;
using AmbientNative.Nn;
using AmbientNative.Tensors;
using AmbientNative.Training;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Gpu;

/// <summary>
/// A stand-in for the U-Net until Nn/UNet.cs lands on main: every kind of layer the U-Net is made of, small.
/// conv 3×3 in → + noise embedding (two linears with SiLU) → residual block (GroupNorm+SiLU, conv, dropout) →
/// 2× average pool → self-attention (GroupNorm, bias-free 1×1 conv to q/k/v split along channels, QᵀK softmax, V·Pᵀ, 1×1
/// projection) → a per-token linear through a permute → 2× upsample → skip concatenation → GroupNorm+SiLU → conv out.
/// </summary>
internal sealed class StandInUNet : Module
{
    public const int ImageChannels = 3, Channels = 12, Groups = 4, Embed = 16;
    private readonly Parameter _inW, _inB, _e0W, _e0B, _e1W, _e1B, _gn0W, _gn0B, _c0W, _c0B, _gn1W, _gn1B, _qkvW,
        _projW, _projB, _mlpW, _mlpB, _gn2W, _gn2B, _outW, _outB;

    public StandInUNet(Device device, ulong seed) : base(device)
    {
        var rng = new Rng(seed);
        const int c = Channels;
        Parameter Init(string name, Shape s, float std, float mean = 0f)
        {
            var p = Param(name, s);
            var v = new float[p.Numel];
            rng.FillNormal(v, mean, std);
            p.Storage.CopyFrom(v);
            return p;
        }
        _inW = Init("conv_in.weight", new(c, ImageChannels + 1, 3, 3), 0.25f); _inB = Init("conv_in.bias", new(c), 0.1f);
        _e0W = Init("emb0.weight", new(Embed, 1), 0.8f); _e0B = Init("emb0.bias", new(Embed), 0.2f);
        _e1W = Init("emb1.weight", new(c, Embed), 0.3f); _e1B = Init("emb1.bias", new(c), 0.1f);
        _gn0W = Init("gn0.weight", new(c), 0.1f, 1f); _gn0B = Init("gn0.bias", new(c), 0.1f);
        _c0W = Init("conv0.weight", new(c, c, 3, 3), 0.1f); _c0B = Init("conv0.bias", new(c), 0.1f);
        _gn1W = Init("gn1.weight", new(c), 0.1f, 1f); _gn1B = Init("gn1.bias", new(c), 0.1f);
        // No q/k/v bias: the key bias has an exactly zero gradient (it shifts every score of a query by the same
        // amount, which softmax ignores), and AdamW's first step, g/(|g| + eps), would turn its rounding noise into
        // ±lr updates that no two summation orders agree on.
        _qkvW = Init("qkv.weight", new(3 * c, c, 1, 1), 0.3f);
        _projW = Init("proj.weight", new(c, c, 1, 1), 0.3f); _projB = Init("proj.bias", new(c), 0.1f);
        _mlpW = Init("mlp.weight", new(c, c), 0.3f); _mlpB = Init("mlp.bias", new(c), 0.1f);
        _gn2W = Init("gn2.weight", new(2 * c), 0.1f, 1f); _gn2B = Init("gn2.bias", new(2 * c), 0.1f);
        _outW = Init("conv_out.weight", new(ImageChannels, 2 * c, 3, 3), 0.1f); _outB = Init("conv_out.bias", new(ImageChannels), 0.1f);
    }

    /// <summary>input [N, ImageChannels + 1, H, W] (image and mask), noise labels [N]; H and W even.</summary>
    public Tensor Forward(Tensor input, Tensor noiseLabels, Rng dropoutRng)
    {
        const int c = Channels;
        int n = input.Shape[0], h = input.Shape[2], w = input.Shape[3], t = h / 2 * (w / 2);
        var x = Ops_.Conv2d(input, _inW, _inB, padding: 1);
        var e = Ops_.Linear(Ops_.Silu(Ops_.Linear(Ops_.Reshape(noiseLabels, n, 1), _e0W, _e0B)), _e1W, _e1B);
        x = Ops_.Add(x, Ops_.Reshape(e, n, c, 1, 1));
        var r = Ops_.Conv2d(Ops_.GroupNormSilu(x, Groups, _gn0W, _gn0B), _c0W, _c0B, padding: 1);
        r = Ops_.Dropout(r, 0.1f, dropoutRng, training: true);
        x = Ops_.MulScalar(Ops_.Add(x, r), 1f / MathF.Sqrt(2));

        var d = Ops_.AvgPool2x(x);
        var qkv = Ops_.Conv2d(Ops_.GroupNorm(d, Groups, _gn1W, _gn1B), _qkvW);
        var parts = Ops_.Split(qkv, 1, [c, c, c]);
        var q = Ops_.Reshape(parts[0], n, c, t);
        var k = Ops_.Reshape(parts[1], n, c, t);
        var v = Ops_.Reshape(parts[2], n, c, t);
        var p = Ops_.Softmax(Ops_.MulScalar(Ops_.BatchedMatMul(q, k, transA: true), 1f / MathF.Sqrt(c))); // [n, t, t]
        var o = Ops_.BatchedMatMul(v, p, transB: true);                                                   // [n, c, t]
        d = Ops_.Add(d, Ops_.Conv2d(Ops_.Reshape(o, n, c, h / 2, w / 2), _projW, _projB));
        var tokens = Ops_.Reshape(Ops_.Permute(Ops_.Reshape(d, n, c, t), 0, 2, 1), n * t, c);
        var m = Ops_.Permute(Ops_.Reshape(Ops_.Linear(tokens, _mlpW, _mlpB), n, t, c), 0, 2, 1);
        d = Ops_.Add(d, Ops_.Reshape(m, n, c, h / 2, w / 2));

        var u = Ops_.Concat(1, Ops_.Upsample2x(d), x);
        return Ops_.Conv2d(Ops_.GroupNormSilu(u, Groups, _gn2W, _gn2B), _outW, _outB, padding: 1);
    }
}

/// <summary>
/// The GPU's whole training step against the CPU's: the stand-in U-Net under the Ambient objective (network input
/// [Ã ⊙ x_t, Ã] through EDM's preconditioning, loss λ(σ)·‖A ⊙ (D − x0)‖² summed over pixels and averaged over the
/// batch, plus a small weight penalty), then gradient clipping, an AdamW step and an EMA update.
/// </summary>
[Category("Gpu")]
public class CudaTrainingStepTests
{
    private const int Batch = 3, Size = 12;
    private const double Tol = 1e-4;

    internal sealed record StepResult(double Loss, double Norm, bool Finite, Dictionary<string, float[]> Grads,
        Dictionary<string, float[]> Params, Dictionary<string, float[]> Ema);

    /// <summary>The batch, drawn on the host from fixed seeds, so every device sees the same numbers.</summary>
    internal sealed class Batch3
    {
        public readonly float[] X0, Noise, MaskA, MaskTilde;
        public readonly float[] Sigma, CIn, CSkip, COut, CNoise, Lambda;

        public Batch3(ulong seed)
        {
            var rng = new Rng(seed);
            int pix = Size * Size;
            X0 = new float[Batch * StandInUNet.ImageChannels * pix]; rng.FillUniform(X0, -1f, 1f);
            Noise = new float[X0.Length]; rng.FillNormal(Noise);
            MaskA = new float[Batch * pix];
            MaskTilde = new float[Batch * pix];
            for (int i = 0; i < MaskA.Length; i++)
            {
                MaskA[i] = rng.NextFloat() < 0.6f ? 1f : 0f;                   // A: 40% of pixels erased
                MaskTilde[i] = MaskA[i] * (rng.NextFloat() < 0.9f ? 1f : 0f);  // Ã = B ⊙ A, δ = 0.1
            }
            Sigma = new float[Batch]; CIn = new float[Batch]; CSkip = new float[Batch]; COut = new float[Batch];
            CNoise = new float[Batch]; Lambda = new float[Batch];
            for (int b = 0; b < Batch; b++)
            {
                double s = Edm.SampleTrainingSigma(rng);
                Sigma[b] = (float)s; CIn[b] = (float)Edm.CIn(s); CSkip[b] = (float)Edm.CSkip(s); COut[b] = (float)Edm.COut(s);
                CNoise[b] = (float)Edm.CNoise(s); Lambda[b] = (float)Edm.LossWeight(s);
            }
        }
    }

    /// <summary>The stand-in network's steps on <paramref name="dev"/> (a fresh model, optimizer and EMA each call).</summary>
    /// <param name="inspect">Download every gradient and check it is finite (host reads a timed step would not do).</param>
    internal static StepResult Step(Device dev, Batch3 data, out long[] allocationsAfterEachStep, int steps = 1, bool inspect = true)
    {
        using var net = new StandInUNet(dev, seed: 11);
        var dropout = new Rng(99);
        Shape img = new(Batch, StandInUNet.ImageChannels, Size, Size), mask = new(Batch, 1, Size, Size), perSample = new(Batch, 1, 1, 1);
        var c0 = net.Parameters().Single(p => p.Name == "conv0.weight");
        Tensor Loss()
        {
            Tensor T(float[] v, Shape s) => Tape.Own(Tensor.FromArray(v, s, dev));
            var x0 = T(data.X0, img);
            var a = T(data.MaskA, mask);
            var at = T(data.MaskTilde, mask);
            var xt = Ops_.Add(x0, Ops_.Mul(T(data.Noise, img), T(data.Sigma, perSample)));
            var observed = Ops_.Mul(xt, at);                                    // Ã ⊙ x_t: what the network may see
            var input = Ops_.Concat(1, Ops_.Div(observed, T(data.CIn.Select(v => 1 / v).ToArray(), perSample)), at);
            var f = Ops_.Clamp(net.Forward(input, T(data.CNoise, new Shape(Batch)), dropout), -50f, 50f); // never binds
            var denoised = Ops_.Add(Ops_.Mul(observed, T(data.CSkip, perSample)), Ops_.Mul(f, T(data.COut, perSample)));
            var err = Ops_.Mul(Ops_.Sub(denoised, x0), a);                      // only pixels observed under A
            var perImage = Ops_.Sum(Ops_.Reshape(Ops_.Square(err), Batch, -1), 1);
            var loss = Ops_.Mean(Ops_.Mul(perImage, T(data.Lambda, new Shape(Batch))));
            var penalty = Ops_.MulScalar(Ops_.Sum(Ops_.PowScalar(Ops_.AddScalar(Ops_.Square(c0), 0.01f), 0.75f)), 1e-3f);
            return Ops_.Add(loss, penalty);
        }
        return Train(dev, net, Loss, steps, inspect, out allocationsAfterEachStep);
    }

    /// <summary>
    /// Training steps: loss and backward on a tape, then gradient clipping to norm 1, AdamW and an EMA update, as the
    /// trainer does, with the parameters in one arena (so clipping, Adam and the EMA are one launch each and every
    /// kernel reads parameters and writes gradients at offsets inside the arena's flat tensors). Returns the last
    /// step's loss, gradients (before clipping) and norm, and the parameters and EMA after it.
    /// </summary>
    internal static StepResult Train(Device dev, Module net, Func<Tensor> lossOnTape, int steps, bool inspect, out long[] allocationsAfterEachStep)
    {
        var parameters = net.Parameters().ToList();
        using var arena = ParameterArena.Adopt(parameters);
        // eps 1e-3 (not 1e-8): AdamW's first update is lr·g/(|g| + eps), a sign for |g| ≫ eps. Elements whose gradient
        // is rounding noise would flip between devices; with this eps their update is ~0 instead of ±lr.
        using var adam = new Adam(parameters, lr: 1e-3, eps: 1e-3, weightDecay: 0.01);
        using var ema = new Ema(parameters, halfLifeImages: 50, rampupRatio: null);
        double lossValue = 0, norm = 0;
        bool finite = true;
        Dictionary<string, float[]> grads = [];
        allocationsAfterEachStep = new long[steps];
        for (int step = 0; step < steps; step++)
        {
            using (var tape = new Tape())
            {
                var loss = lossOnTape();
                lossValue = loss.Item();
                tape.Backward(loss);
            }
            if (inspect)
            {
                grads = parameters.ToDictionary(p => p.Name, p => p.Grad!.ToArray());
                finite = parameters.All(p => dev.Backend.AllFinite(p.Grad!));
            }
            norm = GradientClipping.ClipGlobalNorm(parameters, maxNorm: 1.0);
            Assert.That(adam.NextStepIsFlat, "every parameter has its gradient in the arena: Adam is one launch");
            adam.Step();
            adam.ZeroGrad();
            ema.Update(0.9);
            if (dev.Kind == DeviceKind.Cuda) allocationsAfterEachStep[step] = CudaDevices.Backend(dev).Allocator.DeviceAllocations;
        }
        return new StepResult(lossValue, norm, finite, grads,
            parameters.ToDictionary(p => p.Name, p => p.ToArray()), ema.Parameters.ToDictionary(p => p.Name, p => p.ToArray()));
    }

    /// <summary>
    /// The tiny U-Net (UNetConfig.Tiny: 16×16, attention at 8×8, dropout 0.1) under the AmbientLoss on a pixel-erased
    /// batch (p = 0.2, δ = 0.1), with fixed σ and noise: both devices see the same numbers.
    /// </summary>
    /// <param name="n">Images (at most 4): the ILGPU CPU emulator runs 2 to keep its test short.</param>
    /// <param name="config">Another U-Net than the tiny one (its resolution is used).</param>
    internal static StepResult UNetStep(Device dev, int n = 4, UNetConfig? config = null)
    {
        config ??= UNetConfig.Tiny;
        int res = config.Resolution;
        var clean = ProceduralShapes.Generate(n, res, 3, seed: 7);
        var data = new CorruptedDataset(clean.Images, n, 3, res, res, CorruptionSpec.PixelErase(0.2, 0.1, seed: 3));
        using var net = new UNet(config, dev, seed: 11);
        var objective = new AmbientLoss(new EdmPreconditioner(net));
        var rng = new Rng(21);
        double[] sigma = new[] { 0.05, 0.4, 2.0, 15.0 }[..n];
        var noise = new float[n * 3 * res * res];
        rng.FillNormal(noise);
        var batch = new CorruptedBatchSource(data).Load(new[] { 0, 1, 2, 3 }[..n], new[] { false, true, false, false }[..n], dev);
        using var noiseT = Tensor.FromArray(noise, batch.Observed.Shape, dev);
        try
        {
            return Train(dev, net, () => objective.Compute(batch, sigma, noiseT).Loss, 1, inspect: true, out _);
        }
        finally
        {
            batch.Observed.Dispose(); batch.MaskA?.Dispose(); batch.MaskATilde?.Dispose(); batch.Clean?.Dispose();
        }
    }

    internal static void AssertMatches(StepResult cpu, StepResult cuda, double tol = Tol)
    {
        TestContext.Out.WriteLine($"loss cpu {cpu.Loss:R} gpu {cuda.Loss:R}; grad norm cpu {cpu.Norm:R} gpu {cuda.Norm:R}");
        Assert.That(cpu.Finite && cuda.Finite, Is.True, "finite gradients");
        Assert.That(cpu.Norm, Is.GreaterThan(1.0), "the step clips (exercises SumOfSquares and ScaleInPlace)");
        Assert.That(Math.Abs(cuda.Loss - cpu.Loss) / Math.Abs(cpu.Loss), Is.LessThan(tol), "loss");
        Assert.That(Math.Abs(cuda.Norm - cpu.Norm) / cpu.Norm, Is.LessThan(tol), "gradient norm");
        double worst = 0;
        foreach (var (name, g) in cpu.Grads)
        {
            double e = Check.RelErr(cuda.Grads[name], g);
            worst = Math.Max(worst, e);
            TestContext.Out.WriteLine($"  {name,-16} grad rel err {e:E2}");
            Assert.That(e, Is.LessThan(tol), $"gradient of {name}");
        }
        foreach (var (name, p) in cpu.Params) Check.Close(cuda.Params[name], p, tol, $"{name} after the AdamW step");
        foreach (var (name, p) in cpu.Ema) Check.Close(cuda.Ema[name], p, tol, $"EMA of {name}");
        TestContext.Out.WriteLine($"worst gradient rel err {worst:E2} over {cpu.Grads.Count} parameters");
    }

    [Test]
    public void A_whole_training_step_on_the_gpu_matches_the_cpu()
    {
        var gpu = Gpu.Device();
        var data = new Batch3(seed: 5);
        AssertMatches(Step(Device.Cpu, data, out _), Step(gpu, data, out _));
    }

    [Test]
    public void A_tiny_unet_ambient_training_step_on_the_gpu_matches_the_cpu()
    {
        var gpu = Gpu.Device();
        AssertMatches(UNetStep(Device.Cpu), UNetStep(gpu));
    }

    /// <summary>
    /// The reference U-Net (32×32, 128–256 channels, attention at 16×16: the sizes the benchmark trains) at batch 2: its
    /// channel counts cross the conv and GEMM tiles and reach the fused kernels' limits, which the tiny one does not.
    /// </summary>
    [Test]
    public void A_reference_unet_ambient_training_step_on_the_gpu_matches_the_cpu()
    {
        var gpu = Gpu.Device();
        var config = UNetConfig.Reference with { Dropout = 0f };
        AssertMatches(UNetStep(Device.Cpu, 2, config), UNetStep(gpu, 2, config));
    }

    [Test]
    public void A_reference_unet_step_with_the_fused_cuda_c_attention_matches_the_cpu()
    {
        var be = Gpu.Backend();
        var config = UNetConfig.Reference with { Dropout = 0f };
        var cpu = UNetStep(Device.Cpu, 2, config);
        be.FusedAttention = true;
        be.KernelTimes = new(); // names every kernel launched
        try
        {
            AssertMatches(cpu, UNetStep(be.Device, 2, config));
            Assert.That(be.KernelTimes.Keys, Is.SupersetOf(new[] { "attention_forward", "attention_backward_rows", "attention_backward_columns" }));
        }
        finally { be.FusedAttention = false; be.KernelTimes = null; }
    }

    // TF32 keeps 10 mantissa bits: ~5e-4 per conv, compounded through the U-Net's convs forward and back. On the
    // CUDA emulator (2026-12-03) the worst gradient was 1.7e-3 off the CPU's fp32, the loss 5e-7; the bound leaves 3×.
    private const double Tf32StepTol = 5e-3;

    [Test]
    public void A_tiny_unet_step_with_tf32_convs_stays_near_the_cpu()
    {
        var be = Gpu.Backend();
        if (be.Context.Info.Major < 8) Assert.Ignore($"TF32 needs sm_80; the device is {be.Context.Info.Arch}");
        var cpu = UNetStep(Device.Cpu);
        be.ConvTf32 = true;
        try { AssertMatches(cpu, UNetStep(be.Device), Tf32StepTol); }
        finally { be.ConvTf32 = false; }
    }

    [Test]
    public void The_gpu_step_is_bitwise_reproducible_and_allocates_nothing_after_the_first()
    {
        var gpu = Gpu.Device();
        var data = new Batch3(seed: 6);
        var first = Step(gpu, data, out _);
        var second = Step(gpu, data, out _);
        Assert.That(second.Loss, Is.EqualTo(first.Loss), "loss");
        foreach (var (name, g) in first.Grads) Assert.That(second.Grads[name], Is.EqualTo(g), $"gradient of {name}");

        Step(gpu, data, out var allocations, steps: 3);
        Assert.That(allocations[2], Is.EqualTo(allocations[0]), "steps after the first must not call cuMemAlloc");
    }
}
