namespace AmbientNative.Onnx;

/// <summary>
/// How images in [−1, 1] are turned into the model's input: mapped to [0, 1], grey replicated to the model's channel
/// count, resized (bilinear, half-pixel centres: PyTorch's interpolate with align_corners=False, no antialiasing, fine
/// for the upsampling of small images), then normalised per channel, (v − Mean[c]) / Std[c].
/// The defaults are DINOv2's (the papers' feature space): 224×224 and ImageNet mean/std.
/// </summary>
public sealed record OnnxExtractorOptions
{
    public static readonly float[] ImageNetMean = [0.485f, 0.456f, 0.406f];
    public static readonly float[] ImageNetStd = [0.229f, 0.224f, 0.225f];

    /// <summary>DINOv2 (ViT-*/14 exported with a pooled output): 224×224, ImageNet normalisation.</summary>
    public static OnnxExtractorOptions DinoV2 { get; } = new();

    /// <summary>Side of the square model input; null keeps the images' own H×W.</summary>
    public int? InputSize { get; init; } = 224;
    /// <summary>Per-channel mean in [0, 1] units (one value applies to every channel).</summary>
    public float[] Mean { get; init; } = ImageNetMean;
    /// <summary>Per-channel standard deviation in [0, 1] units (one value applies to every channel).</summary>
    public float[] Std { get; init; } = ImageNetStd;
    /// <summary>The model input to feed; null = the model's only input.</summary>
    public string? InputName { get; init; }
    /// <summary>The output to read as features, flattened per image (e.g. "pooler_output"); null = the first output.</summary>
    public string? OutputName { get; init; }
    /// <summary>Images per run. A model with a fixed batch dimension runs in batches of that size instead (padded).</summary>
    public int BatchSize { get; init; } = 32;

    internal void Validate()
    {
        if (InputSize is < 1)
            throw new ArgumentOutOfRangeException(nameof(InputSize), $"ONNX extractor: InputSize must be positive (got {InputSize}).");
        if (BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), $"ONNX extractor: BatchSize must be positive (got {BatchSize}).");
        if (Mean is not { Length: > 0 } || Std is not { Length: > 0 })
            throw new ArgumentException("ONNX extractor: Mean and Std need at least one value.");
        foreach (float s in Std)
            if (!(s > 0 && float.IsFinite(s))) throw new ArgumentException($"ONNX extractor: Std values must be finite and positive (got {s}).");
    }
}
