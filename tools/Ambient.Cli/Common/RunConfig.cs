using System.Text.Json;
using System.Text.Json.Serialization;
using AmbientNative.Diffusion;
using AmbientNative.Diffusion.Corruption;
using AmbientNative.Diffusion.Losses;
using AmbientNative.Nn;
using AmbientNative.Tensors;

namespace Ambient.Cli.Common;

/// <summary>The three ways to train (METHOD §1–3).</summary>
internal enum Method { Clean, Ambient, Tweedie }

/// <summary>
/// Everything needed to rebuild a trained model and its data: the method, the U-Net, the corruption of the training set
/// and where the images came from. Given to the trainer as its "model config", so it is stored in every checkpoint
/// (and in config.json): <c>sample</c>, <c>probe</c> and <c>memorization</c> need nothing but the checkpoint.
/// </summary>
internal sealed record RunConfig(
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("method")] Method Method,
    [property: JsonPropertyName("preset")] string Preset,
    [property: JsonPropertyName("unet")] UNetConfig UNet,
    [property: JsonPropertyName("corruption")] CorruptionSpec Corruption,
    [property: JsonPropertyName("data")] DataSpec Data,
    [property: JsonPropertyName("hidden_pixels")] HiddenPixelPreconditioning HiddenPixels = HiddenPixelPreconditioning.Reference)
{
    public const string FormatTag = "ambient-run/1";

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = false,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Parses a checkpoint's model config; an <see cref="InvalidDataException"/> names the file when it is not one of ours.</summary>
    public static RunConfig FromJson(string json, string path)
    {
        RunConfig? c;
        try { c = JsonSerializer.Deserialize<RunConfig>(json, Json); }
        catch (JsonException e) { throw new InvalidDataException($"Checkpoint '{path}': its model config is not an ambient run config ({e.Message}).", e); }
        if (c is null || c.Format != FormatTag || c.UNet is null || c.Corruption is null || c.Data is null)
            throw new InvalidDataException($"Checkpoint '{path}': its model config is not an '{FormatTag}' run config (written by another program?).");
        return c;
    }

    /// <summary>A fresh U-Net for this config (weights from <paramref name="seed"/>) on <paramref name="device"/>.</summary>
    public UNet BuildModel(Device device, ulong seed) => new(UNet, device, seed);

    /// <summary>
    /// The preconditioned denoiser around <paramref name="model"/> with the hidden-pixel choice it was trained with
    /// (checkpoints written before the choice existed read as <see cref="HiddenPixelPreconditioning.Reference"/>, what they used).
    /// </summary>
    public EdmPreconditioner BuildDenoiser(UNet model) => new(model) { HiddenPixels = HiddenPixels };

    /// <summary>The training objective of the method around <paramref name="denoiser"/>.</summary>
    public ITrainingObjective BuildObjective(EdmPreconditioner denoiser) => Method switch
    {
        Method.Clean => new EdmLoss(denoiser),
        Method.Ambient => new AmbientLoss(denoiser),
        Method.Tweedie => new TweedieLoss(denoiser, Corruption.SigmaN),
        _ => throw new ArgumentOutOfRangeException(nameof(Method), Method, null),
    };

    /// <summary>Which sampler the method needs, in words (for summaries).</summary>
    public string SamplerName => Method switch
    {
        Method.Ambient => "fixed-mask ambient Heun",
        Method.Tweedie => $"Heun with early stop at σn = {Corruption.SigmaN:G3}",
        _ => "Heun (EDM)",
    };

    /// <summary>What the model was trained on, in words, e.g. "pixels erased with p = 0.6 (δ = 0.1)".</summary>
    public string CorruptionText => Corruption.Kind switch
    {
        CorruptionKind.None => "clean images",
        CorruptionKind.PixelErase => $"pixels erased with p = {Corruption.P:G3}{(Corruption.PerChannel ? " per channel" : "")} (δ = {Corruption.Delta:G3})",
        CorruptionKind.Box => $"a box of side {Corruption.P:G3}·H erased (δ = {Corruption.Delta:G3})",
        CorruptionKind.FixedBox => $"a box of side {Corruption.P:G3}·H inside the image erased (δ = {Corruption.Delta:G3})",
        CorruptionKind.GaussianNoise => $"Gaussian noise σn = {Corruption.SigmaN:G3}",
        _ => Corruption.Kind.ToString(),
    };
}
