using System.Text.Json.Serialization;

namespace AmbientNative.Nn;

/// <summary>
/// The shape of a DDPM++ U-Net (EDM's SongUNet). The defaults are the <see cref="Reference"/> preset. Input channels
/// are the image channels followed by the mask channels (Ambient Diffusion's concat[Ã ⊙ x, Ã]).
/// </summary>
public sealed record UNetConfig
{
    /// <summary>EDM's eps in every GroupNorm of SongUNet.</summary>
    public const float NormEps = 1e-6f;

    /// <summary>Input and output height = width.</summary>
    public int Resolution { get; init; } = 32;
    public int ImageChannels { get; init; } = 3;
    /// <summary>Extra input channels carrying the mask (0 for clean-data training).</summary>
    public int MaskChannels { get; init; } = 1;
    public int OutChannels { get; init; } = 3;
    /// <summary>Channels of the first level (EDM's model_channels).</summary>
    public int BaseChannels { get; init; } = 64;
    /// <summary>Channels of level l = BaseChannels · ChannelMultipliers[l]; level l runs at Resolution / 2^l.</summary>
    public IReadOnlyList<int> ChannelMultipliers { get; init; } = [1, 2, 2];
    /// <summary>Residual blocks per level in the encoder (the decoder has one more, as in EDM).</summary>
    public int BlocksPerLevel { get; init; } = 2;
    /// <summary>Resolutions (side lengths) whose blocks end with self-attention.</summary>
    public IReadOnlyList<int> AttentionResolutions { get; init; } = [16];
    /// <summary>Dropout probability inside each block, before its second convolution.</summary>
    public float Dropout { get; init; } = 0.1f;
    /// <summary>Embedding width = BaseChannels · this (EDM's channel_mult_emb).</summary>
    public int EmbeddingMultiplier { get; init; } = 4;
    /// <summary>GroupNorm uses min(GroupNormMaxGroups, C / GroupNormMinChannelsPerGroup) groups, as EDM (32, 4).</summary>
    public int GroupNormMaxGroups { get; init; } = 32;
    public int GroupNormMinChannelsPerGroup { get; init; } = 4;
    /// <summary>Every convolution becomes conv(x, W) ⊙ sigmoid(conv(x, G)) + b (Ambient Diffusion's inpainting layers).</summary>
    public bool GatedConvolutions { get; init; }

    [JsonIgnore] public int InChannels => ImageChannels + MaskChannels;
    [JsonIgnore] public int EmbeddingChannels => BaseChannels * EmbeddingMultiplier;
    /// <summary>Width of the positional noise embedding (EDM's channel_mult_noise = 1).</summary>
    [JsonIgnore] public int NoiseChannels => BaseChannels;

    /// <summary>16×16, 16 channels, [1, 2], 1 block, attention at 8×8: for tests and the demo (~0.19 M parameters).</summary>
    public static UNetConfig Tiny => new()
    {
        Resolution = 16, BaseChannels = 16, ChannelMultipliers = [1, 2], BlocksPerLevel = 1, AttentionResolutions = [8],
    };

    /// <summary>The benchmark model: 32×32, 64 channels, [1, 2, 2], 2 blocks, attention at 16×16 (~7.0 M parameters).</summary>
    public static UNetConfig Reference => new();

    /// <summary>EDM's CIFAR-10 DDPM++: 128 channels, [2, 2, 2], 4 blocks, attention at 16×16, dropout 0.13 (~55.7 M).</summary>
    public static UNetConfig EdmCifar => new()
    {
        BaseChannels = 128, ChannelMultipliers = [2, 2, 2], BlocksPerLevel = 4, AttentionResolutions = [16], Dropout = 0.13f,
    };

    public static IReadOnlyList<string> PresetNames { get; } = ["tiny", "reference", "edm-cifar"];

    /// <summary>A fresh copy of a named preset ("tiny", "reference", "edm-cifar").</summary>
    public static UNetConfig Preset(string name) => name switch
    {
        "tiny" => Tiny,
        "reference" => Reference,
        "edm-cifar" => EdmCifar,
        _ => throw new ArgumentException($"Unknown U-Net preset \"{name}\"; known: {string.Join(", ", PresetNames)}.", nameof(name)),
    };

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        static void Need(bool ok, string field, string message)
        {
            if (!ok) throw new ArgumentException($"UNetConfig.{field}: {message}", field);
        }
        Need(ImageChannels >= 1, nameof(ImageChannels), $"must be at least 1; got {ImageChannels}.");
        Need(MaskChannels >= 0, nameof(MaskChannels), $"must be 0 or more; got {MaskChannels}.");
        Need(OutChannels >= 1, nameof(OutChannels), $"must be at least 1; got {OutChannels}.");
        Need(BaseChannels >= 4 && BaseChannels % 2 == 0, nameof(BaseChannels),
            $"must be even and at least 4 (it is also the noise embedding's width); got {BaseChannels}.");
        Need(ChannelMultipliers is { Count: > 0 } && ChannelMultipliers.All(m => m >= 1), nameof(ChannelMultipliers),
            $"needs at least one level and every multiplier ≥ 1; got [{string.Join(", ", ChannelMultipliers ?? [])}].");
        Need(BlocksPerLevel >= 1, nameof(BlocksPerLevel), $"must be at least 1; got {BlocksPerLevel}.");
        int levels = ChannelMultipliers!.Count, step = 1 << (levels - 1);
        Need(Resolution >= step && Resolution % step == 0, nameof(Resolution),
            $"{Resolution} must be a positive multiple of 2^{levels - 1} = {step}, so that each of the {levels} levels halves it exactly.");
        var resolutions = Enumerable.Range(0, levels).Select(l => Resolution >> l).ToArray();
        foreach (int r in AttentionResolutions ?? [])
            Need(resolutions.Contains(r), nameof(AttentionResolutions),
                $"{r} is not one of the level resolutions [{string.Join(", ", resolutions)}].");
        Need(Dropout is >= 0f and < 1f, nameof(Dropout), $"must be in [0, 1); got {Dropout}.");
        Need(EmbeddingMultiplier >= 1, nameof(EmbeddingMultiplier), $"must be at least 1; got {EmbeddingMultiplier}.");
        Need(GroupNormMaxGroups >= 1, nameof(GroupNormMaxGroups), $"must be at least 1; got {GroupNormMaxGroups}.");
        Need(GroupNormMinChannelsPerGroup >= 1, nameof(GroupNormMinChannelsPerGroup),
            $"must be at least 1; got {GroupNormMinChannelsPerGroup}.");
        foreach (var b in UNet.Layout(this))
            foreach (int c in new[] { b.InChannels, b.OutChannels })
            {
                int g = Math.Min(GroupNormMaxGroups, c / GroupNormMinChannelsPerGroup);
                Need(g >= 1 && c % g == 0, nameof(BaseChannels),
                    $"block {b.Name} normalizes {c} channels, which do not split into min({GroupNormMaxGroups}, {c} / " +
                    $"{GroupNormMinChannelsPerGroup}) = {g} equal groups; change BaseChannels, ChannelMultipliers or the GroupNorm fields.");
            }
    }
}
