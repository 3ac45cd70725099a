using System.Text.Json.Serialization;

namespace AmbientNative.Training;

/// <summary>
/// Everything that defines a training run besides the model, the objective and the data. Defaults are EDM's CIFAR-10
/// settings (Karras et al. 2022, training/training_loop.py) where EDM has one. Saved as JSON in every checkpoint.
/// </summary>
public sealed record TrainerOptions
{
    /// <summary>Where metrics.csv, config.json and the checkpoints go (created if missing).</summary>
    public string RunDirectory { get; init; } = "";
    public int BatchSize { get; init; } = 512;
    /// <summary>Run length in optimizer steps; set this or <see cref="TotalImages"/>, not both.</summary>
    public long TotalSteps { get; init; }
    /// <summary>Run length in images (EDM's duration); the run takes ⌈TotalImages / BatchSize⌉ steps.</summary>
    public long TotalImages { get; init; }
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Linear warm-up of the learning rate over this many images (0 = none); see <see cref="LearningRateSchedule"/>.</summary>
    public double WarmupImages { get; init; } = 10_000_000;
    public double AdamBeta1 { get; init; } = 0.9;
    public double AdamBeta2 { get; init; } = 0.999;
    public double AdamEps { get; init; } = 1e-8;
    /// <summary>EMA half-life in images; see <see cref="Ema"/>.</summary>
    public double EmaHalfLifeImages { get; init; } = 500_000;
    /// <summary>EMA ramp-up ratio; null turns the ramp-up off.</summary>
    public double? EmaRampupRatio { get; init; } = 0.05;
    /// <summary>Global gradient-norm clipping threshold; 0 turns clipping off (EDM does not clip).</summary>
    public double GradientClipMaxNorm { get; init; }
    /// <summary>A checkpoint every this many steps (0 = only at the end of the run or on cancellation).</summary>
    public int CheckpointEvery { get; init; } = 1000;
    /// <summary>How many of the newest checkpoints to keep (0 = all).</summary>
    public int KeepCheckpoints { get; init; } = 3;
    /// <summary>A metrics.csv row every this many steps: the mean of each term over those steps.</summary>
    public int MetricsEvery { get; init; } = 10;
    /// <summary>Mirror each training image left–right with probability ½ (image and masks together).</summary>
    public bool HorizontalFlip { get; init; }
    /// <summary>Seeds the batch order, the flips and the objective's noise; nothing else in the trainer is random.</summary>
    public ulong Seed { get; init; }

    /// <summary>The run length in steps.</summary>
    [JsonIgnore]
    public long Steps => TotalSteps > 0 ? TotalSteps : (TotalImages + BatchSize - 1) / BatchSize;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option that is out of range.</summary>
    public void Validate()
    {
        Need(!string.IsNullOrWhiteSpace(RunDirectory), nameof(RunDirectory), "must name a folder");
        Need(BatchSize > 0, nameof(BatchSize), $"must be > 0; got {BatchSize}");
        Need(TotalSteps >= 0 && TotalImages >= 0, TotalSteps < 0 ? nameof(TotalSteps) : nameof(TotalImages),
            $"must be ≥ 0; got TotalSteps {TotalSteps}, TotalImages {TotalImages}");
        Need((TotalSteps > 0) != (TotalImages > 0), nameof(TotalSteps),
            $"set exactly one of TotalSteps and TotalImages to a positive run length; got TotalSteps {TotalSteps}, TotalImages {TotalImages}");
        Need(LearningRate > 0 && double.IsFinite(LearningRate), nameof(LearningRate), $"must be finite and > 0; got {LearningRate}");
        Need(WarmupImages >= 0 && double.IsFinite(WarmupImages), nameof(WarmupImages), $"must be finite and ≥ 0; got {WarmupImages}");
        Need(AdamBeta1 >= 0 && AdamBeta1 < 1, nameof(AdamBeta1), $"must be in [0, 1); got {AdamBeta1}");
        Need(AdamBeta2 >= 0 && AdamBeta2 < 1, nameof(AdamBeta2), $"must be in [0, 1); got {AdamBeta2}");
        Need(AdamEps > 0 && double.IsFinite(AdamEps), nameof(AdamEps), $"must be finite and > 0; got {AdamEps}");
        Need(EmaHalfLifeImages >= 0 && double.IsFinite(EmaHalfLifeImages), nameof(EmaHalfLifeImages), $"must be finite and ≥ 0; got {EmaHalfLifeImages}");
        Need(EmaRampupRatio is not { } r || (r >= 0 && double.IsFinite(r)), nameof(EmaRampupRatio), $"must be finite and ≥ 0, or null for none; got {EmaRampupRatio}");
        Need(GradientClipMaxNorm >= 0 && double.IsFinite(GradientClipMaxNorm), nameof(GradientClipMaxNorm), $"must be finite and ≥ 0 (0 = off); got {GradientClipMaxNorm}");
        Need(CheckpointEvery >= 0, nameof(CheckpointEvery), $"must be ≥ 0 steps (0 = only at the end); got {CheckpointEvery}");
        Need(KeepCheckpoints >= 0, nameof(KeepCheckpoints), $"must be ≥ 0 (0 = keep all); got {KeepCheckpoints}");
        Need(MetricsEvery > 0, nameof(MetricsEvery), $"must be > 0 steps; got {MetricsEvery}");
    }

    private static void Need(bool ok, string option, string what)
    {
        if (!ok) throw new ArgumentException($"TrainerOptions.{option} {what}.", option);
    }
}
