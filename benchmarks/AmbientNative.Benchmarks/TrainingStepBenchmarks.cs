using AmbientNative.Autograd;
using AmbientNative.Backends;
using AmbientNative.Diffusion;
using AmbientNative.Diffusion.Losses;
using AmbientNative.Nn;
using AmbientNative.Tensors;
using AmbientNative.Training;
using AmbientNative.Benchmarks.Shared;
using BenchmarkDotNet.Attributes;

namespace AmbientNative.Benchmarks;

/// <summary>
/// One Ambient Diffusion training step of <see cref="UNetConfig.Reference"/> (7.0 M parameters) at batch 16, 32×32, on
/// the fast CPU backend: σ and noise draws, forward through the preconditioned U-Net, the ambient loss, backward, Adam.
/// benchmarks/anchors/train_step_cpu.py times the same step of the PyTorch mirror (benchmarks/anchors/unet_mirror.py).
/// The batch (observations and masks, p = 0.4, δ = 0.1) is fixed; the step draws fresh σ, noise and dropout each call.
/// <see cref="Arena"/>: the parameters in one <see cref="ParameterArena"/> as the trainer puts them (gradients copied
/// into flat slots, Adam one call), or each in its own storage (Adam one call per parameter).
/// </summary>
[Config(typeof(BenchConfig))]
public class TrainingStepBenchmarks
{
    public const int Batch = 16;
    public static readonly UNetConfig Config = UNetConfig.Reference;

    /// <summary>FLOPs of the step's convolutions and attention GEMMs (see <see cref="CountFlops"/>).</summary>
    public static double Flops { get; } = CountFlops(Config, Batch);

    [Params(false, true)]
    public bool Arena { get; set; }

    private UNet _net = null!;
    private ParameterArena? _arena;
    private AmbientLoss _loss = null!;
    private Adam _adam = null!;
    private TrainingBatch _batch = null!;
    private Rng _rng = null!;

    [GlobalSetup]
    public void Setup()
    {
        var dev = Device.Cpu;
        _net = new UNet(Config, dev, seed: 1);
        _loss = new AmbientLoss(new EdmPreconditioner(_net));
        if (Arena) _arena = ParameterArena.Adopt(_net.Parameters());
        _adam = new Adam(_net.Parameters(), lr: 1e-4);
        _batch = SyntheticAmbientBatch.Make(Config, Batch, dev, new Rng(2));
        _rng = new Rng(3);
    }

    [Benchmark]
    public float Step()
    {
        _adam.ZeroGrad();
        float loss;
        using (var tape = new Tape())
        {
            var r = _loss.Compute(_batch, _rng);
            loss = (float)r.Terms["loss"];
            tape.Backward(r.Loss);
        }
        _adam.Step();
        return loss;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _adam.Dispose();
        _arena?.Dispose();
        _net.Dispose();
        foreach (var t in new[] { _batch.Observed, _batch.MaskA!, _batch.MaskATilde! }) t.Dispose();
    }

    /// <summary>
    /// The step's FLOPs in convolutions and attention: 3× each forward (forward, backward data, backward weight), but 2×
    /// for the first convolution, whose input needs no gradient; attention's two batched GEMMs (QᵀK and V·Pᵀ, 2·HW²·C
    /// each per image) also 3×. Everything else (norms, elementwise, Adam, the embedding MLP) is a few hundred MFLOP
    /// at most and memory-bound.
    /// </summary>
    public static double CountFlops(UNetConfig config, int n)
    {
        double total = 0;
        int res = config.Resolution;
        void Conv(int cin, int cout, int k, int h, int stride = 1, double passes = 3) =>
            total += passes * new Conv2dGeometry(n, cin, h, h, cout, k, stride, k / 2).Flops;
        Conv(config.InChannels, config.BaseChannels, 3, res, passes: 2);
        int last = config.BaseChannels;
        foreach (var b in UNet.Layout(config))
        {
            int r = int.Parse(b.Name[..b.Name.IndexOf('x')]); // the resolution the block outputs ("16x16_down")
            int rin = b.Resample switch { Resample.Down => 2 * r, Resample.Up => r / 2, _ => r };
            Conv(b.InChannels, b.OutChannels, 3, b.Resample == Resample.Up ? r : rin, b.Resample == Resample.Down ? 2 : 1);
            Conv(b.OutChannels, b.OutChannels, 3, r);
            if (b.InChannels != b.OutChannels || b.Resample != Resample.None) Conv(b.InChannels, b.OutChannels, 1, r);
            if (b.Attention)
            {
                Conv(b.OutChannels, 3 * b.OutChannels, 1, r);
                Conv(b.OutChannels, b.OutChannels, 1, r);
                total += 3 * 2 * (2.0 * n * r * r * r * r * b.OutChannels);
            }
            last = b.OutChannels;
        }
        Conv(last, config.OutChannels, 3, res);
        return total;
    }
}
