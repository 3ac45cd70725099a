using AmbientNative.Diffusion;
using AmbientNative.Diffusion.Corruption;
using AmbientNative.Nn;
using AmbientNative.Training;

namespace Ambient.Cli.Common;

/// <summary>
/// One training run as the command line describes it. Defaults are the papers' (EDM's CIFAR-10 trainer, δ = 0.1 from
/// Ambient Diffusion) except where a CPU-friendly value is needed to be usable at all; the builders
/// <see cref="ToRunConfig"/> and <see cref="ToTrainerOptions"/> turn it into the library's types.
/// </summary>
internal sealed record TrainSettings
{
    public Method Method { get; init; } = Method.Ambient;
    public string Corruption { get; init; } = "pixel";
    public double P { get; init; } = 0.6;
    public double Delta { get; init; } = 0.1;
    public bool PerChannel { get; init; }
    public double SigmaN { get; init; } = 0.2;
    public string Preset { get; init; } = "reference";
    public int? Resolution { get; init; }
    public int Batch { get; init; } = 512;
    public double Lr { get; init; } = 1e-3;
    public long? Images { get; init; }
    public long? Steps { get; init; }
    public double Warmup { get; init; } = 10_000_000;
    public double EmaHalfLife { get; init; } = 500_000;
    public double Clip { get; init; }
    public float? Dropout { get; init; }
    public bool Gated { get; init; }
    public HiddenPixelPreconditioning HiddenPixels { get; init; } = HiddenPixelPreconditioning.Reference;
    public bool Flip { get; init; }
    public int CheckpointEvery { get; init; } = 1000;
    public ulong Seed { get; init; }
    public string Data { get; init; } = "builtin:shapes";
    public int? Limit { get; init; }
    public int? Channels { get; init; }
    public bool SkipBad { get; init; }
    public string Device { get; init; } = "auto";
    public int SampleCount { get; init; } = 36;
    public int SampleSteps { get; init; } = 18;

    public CorruptionSpec CorruptionSpec()
    {
        ulong seed = Seeds.For(Seed, Seeds.Corruption);
        return Method switch
        {
            Method.Clean => AmbientNative.Diffusion.Corruption.CorruptionSpec.Clean(seed),
            Method.Tweedie => AmbientNative.Diffusion.Corruption.CorruptionSpec.GaussianNoise(SigmaN, seed),
            _ => Corruption switch
            {
                "pixel" => AmbientNative.Diffusion.Corruption.CorruptionSpec.PixelErase(P, Delta, PerChannel, seed),
                "box" => AmbientNative.Diffusion.Corruption.CorruptionSpec.Box(P, Delta, seed),
                "fixed_box" => AmbientNative.Diffusion.Corruption.CorruptionSpec.FixedBox(P, Delta, seed),
                _ => throw new UsageException($"--corruption {Corruption}: expected pixel, box or fixed_box."),
            },
        };
    }

    /// <summary>The run config for images of <paramref name="channels"/> channels (the data decides when --channels is not given).</summary>
    public RunConfig ToRunConfig(int channels)
    {
        var spec = CorruptionSpec();
        spec.Validate();
        var preset = UNetConfig.Preset(Preset);
        int maskChannels = Method == Method.Ambient ? spec.MaskChannels(channels) : 0;
        var unet = preset with
        {
            Resolution = Resolution ?? preset.Resolution,
            ImageChannels = channels,
            OutChannels = channels,
            MaskChannels = maskChannels,
            Dropout = Dropout ?? preset.Dropout,
            GatedConvolutions = Gated,
        };
        unet.Validate();
        var data = new DataSpec(Data, Limit, Channels, unet.Resolution, Seed, SkipBad);
        return new RunConfig(RunConfig.FormatTag, Method, Preset, unet, spec, data,
            Method == Method.Ambient ? HiddenPixels : HiddenPixelPreconditioning.Reference);
    }

    public TrainerOptions ToTrainerOptions(string runDirectory)
    {
        var o = new TrainerOptions
        {
            RunDirectory = runDirectory,
            BatchSize = Batch,
            TotalSteps = Steps ?? 0,
            TotalImages = Images ?? 0,
            LearningRate = Lr,
            WarmupImages = Warmup,
            EmaHalfLifeImages = EmaHalfLife,
            GradientClipMaxNorm = Clip,
            CheckpointEvery = CheckpointEvery,
            HorizontalFlip = Flip,
            Seed = Seeds.For(Seed, Seeds.Trainer),
        };
        o.Validate();
        return o;
    }

    /// <summary>The resolution the data is loaded at: --resolution, else the preset's.</summary>
    public int EffectiveResolution => Resolution ?? UNetConfig.Preset(Preset).Resolution;
}
