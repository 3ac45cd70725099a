namespace AmbientNative.Training;

/// <summary>
/// EDM's learning rate: linear warm-up, lr = baseLr · min(imagesSeen / warmupImages, 1), then constant
/// (EDM: lr_rampup_kimg = 10000 for CIFAR-10). imagesSeen counts the images before the step, as EDM's
/// cur_nimg, so the very first step has lr = 0 under warm-up. warmupImages = 0 means a constant rate
/// (EDM's max(·, 1e-8) would still give lr = 0 on that first step; here it is baseLr from the start).
/// </summary>
public sealed record LearningRateSchedule
{
    public LearningRateSchedule(double baseLr, double warmupImages = 0)
    {
        if (!(baseLr >= 0)) throw new ArgumentOutOfRangeException(nameof(baseLr), $"Learning rate schedule: base rate must be ≥ 0; got {baseLr}.");
        if (!(warmupImages >= 0)) throw new ArgumentOutOfRangeException(nameof(warmupImages), $"Learning rate schedule: warm-up must be ≥ 0 images; got {warmupImages}.");
        BaseLr = baseLr;
        WarmupImages = warmupImages;
    }

    public double BaseLr { get; }
    public double WarmupImages { get; }

    public double At(long imagesSeen)
    {
        if (imagesSeen < 0) throw new ArgumentOutOfRangeException(nameof(imagesSeen), $"Learning rate schedule: images seen must be ≥ 0; got {imagesSeen}.");
        return WarmupImages == 0 ? BaseLr : BaseLr * Math.Min(imagesSeen / WarmupImages, 1);
    }
}
