namespace AmbientNative.Diffusion.Corruption;

public enum CorruptionKind
{
    /// <summary>Clean data: A = Ã = 1.</summary>
    None,
    /// <summary>Each pixel erased with probability p (the paper's "dust"); Ã = B ⊙ A, B ~ Bernoulli(1 − δ) per pixel.</summary>
    PixelErase,
    /// <summary>One box of ⌈p·H⌉ × ⌈p·W⌉ erased, top-left corner uniform over the image (clipped at the border); Ã also erases a second such box.</summary>
    Box,
    /// <summary>One box of ⌊p·H⌋ × ⌊p·W⌋ erased, always fully inside the image; Ã also erases a second such box.</summary>
    FixedBox,
    /// <summary>Additive noise (Ambient Tweedie): the dataset holds x0 + σn·η; A = Ã = 1.</summary>
    GaussianNoise,
}

/// <summary>
/// How a clean dataset is corrupted (METHOD §2–3). Pure data: the masks of image i are a function of
/// (<see cref="Seed"/>, i) only, see <see cref="CorruptionMasks"/>.
/// </summary>
/// <remarks>
/// Box patterns follow giannisdaras/ambient-diffusion (training/dataset.py): the further corruption B is a second
/// independent box of the same size, not a Bernoulli(1 − δ) draw, so δ only switches it on (δ > 0) or off (δ = 0).
/// Two deliberate differences from that code: <see cref="CorruptionKind.Box"/> honours δ = 0 (the original always
/// draws the second box), and <see cref="CorruptionKind.FixedBox"/> places the box at every position fully inside
/// the image (the original's exclusive randint never touches the last row and column, and swaps H and W).
/// </remarks>
public sealed record CorruptionSpec
{
    public CorruptionKind Kind { get; init; } = CorruptionKind.None;
    /// <summary>Erasure level p in [0, 1): pixel erase probability, or the box side as a fraction of H and W.</summary>
    public double P { get; init; }
    /// <summary>Further corruption δ in [0, 1): the extra erase probability of Ã for <see cref="CorruptionKind.PixelErase"/>; for box kinds, δ &gt; 0 adds the second box.</summary>
    public double Delta { get; init; } = 0.1;
    /// <summary>Independent masks per colour channel (PixelErase only). Default: one mask shared over channels, as in the paper.</summary>
    public bool PerChannel { get; init; }
    /// <summary>Noise std σn of <see cref="CorruptionKind.GaussianNoise"/>, in the [−1, 1] pixel scale.</summary>
    public double SigmaN { get; init; }
    public ulong Seed { get; init; }

    public static CorruptionSpec Clean(ulong seed = 0) => new() { Seed = seed };
    public static CorruptionSpec PixelErase(double p, double delta = 0.1, bool perChannel = false, ulong seed = 0) =>
        new() { Kind = CorruptionKind.PixelErase, P = p, Delta = delta, PerChannel = perChannel, Seed = seed };
    public static CorruptionSpec Box(double p, double delta = 0.1, ulong seed = 0) =>
        new() { Kind = CorruptionKind.Box, P = p, Delta = delta, Seed = seed };
    public static CorruptionSpec FixedBox(double p, double delta = 0.1, ulong seed = 0) =>
        new() { Kind = CorruptionKind.FixedBox, P = p, Delta = delta, Seed = seed };
    public static CorruptionSpec GaussianNoise(double sigmaN, ulong seed = 0) =>
        new() { Kind = CorruptionKind.GaussianNoise, SigmaN = sigmaN, Seed = seed };

    public bool ErasesPixels => Kind is CorruptionKind.PixelErase or CorruptionKind.Box or CorruptionKind.FixedBox;

    /// <summary>
    /// Channels of the mask the network sees in concat[Ã ⊙ xt, Ã]: 1 when the mask is shared over the colour channels
    /// (3 image + 1 mask = 4 inputs for RGB, like the reference U-Net), <paramref name="imageChannels"/> when per-channel.
    /// Mask buffers are always expanded to all image channels; with one mask channel, channel 0 is the one to feed.
    /// </summary>
    public int MaskChannels(int imageChannels) => PerChannel ? imageChannels : 1;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first field that is out of range for <see cref="Kind"/>.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Kind))
            throw new ArgumentException($"CorruptionSpec.Kind: {(int)Kind} is not a defined CorruptionKind.");
        if (!(Delta >= 0 && Delta < 1))
            throw new ArgumentException($"CorruptionSpec.Delta: {Delta} is outside [0, 1).");
        if (ErasesPixels)
        {
            if (!(P >= 0 && P < 1))
                throw new ArgumentException($"CorruptionSpec.P: {P} is outside [0, 1) for {Kind}.");
        }
        else if (P != 0)
            throw new ArgumentException($"CorruptionSpec.P: {Kind} erases no pixels, so P must be 0 (got {P}).");
        if (PerChannel && Kind != CorruptionKind.PixelErase)
            throw new ArgumentException($"CorruptionSpec.PerChannel: only PixelErase has per-channel masks (Kind is {Kind}).");
        if (Kind == CorruptionKind.GaussianNoise)
        {
            if (!(SigmaN > 0 && double.IsFinite(SigmaN)))
                throw new ArgumentException($"CorruptionSpec.SigmaN: GaussianNoise needs a finite σn > 0 (got {SigmaN}).");
        }
        else if (SigmaN != 0)
            throw new ArgumentException($"CorruptionSpec.SigmaN: only GaussianNoise adds noise, so SigmaN must be 0 for {Kind} (got {SigmaN}).");
    }
}
