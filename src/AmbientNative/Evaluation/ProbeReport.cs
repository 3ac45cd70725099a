using System.Text.Json.Serialization;
using AmbientNative.Diffusion.Corruption;

namespace AmbientNative.Evaluation;

/// <summary>The probe's corruption as written in probe.json: kind (a <see cref="CorruptionKind"/> name), p, σ, seed.</summary>
public sealed record ProbeCorruption(
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("p")] double P,
    [property: JsonPropertyName("sigma")] double Sigma,
    [property: JsonPropertyName("seed")] ulong Seed)
{
    public static ProbeCorruption Of(CorruptionSpec s) => new(s.Kind.ToString(), s.P, s.SigmaN, s.Seed);
}

/// <summary>One probed training image: similarity of its restoration to it, and the restoration's nearest training images.</summary>
public sealed record ProbedImage(
    [property: JsonPropertyName("image")] int Image,
    [property: JsonPropertyName("similarity")] float Similarity,
    [property: JsonPropertyName("indices")] int[] Indices,
    [property: JsonPropertyName("similarities")] float[] Similarities);

/// <summary>
/// Result of probing a model with corrupted training images (METHOD §4), written as <c>probe.json</c>:
/// <code>
/// {
///   "format": "ambient-probe/1",
///   "feature_space": "pixels (centred)",
///   "restorer": "one-step denoiser",
///   "corruption": { "kind": "PixelErase", "p": 0.8, "sigma": 0, "seed": 7 },
///   "images": 50, "training_images": 300, "k": 3,
///   "restoration_similarity": { count, mean, median, min, max, above: [...], histogram: {...} },  // cos(restored_i, original_i)
///   "nearest_is_source": 0.94,   // fraction of restorations whose nearest training image is the one they came from
///   "per_image": [ { "image": 17, "similarity": 0.99, "indices": [17, 4, 80], "similarities": [0.99, 0.6, 0.58] }, ... ]
/// }
/// </code>
/// </summary>
public sealed record ProbeReport(
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("feature_space")] string FeatureSpace,
    [property: JsonPropertyName("restorer")] string Restorer,
    [property: JsonPropertyName("corruption")] ProbeCorruption Corruption,
    [property: JsonPropertyName("images")] int Images,
    [property: JsonPropertyName("training_images")] int TrainingImages,
    [property: JsonPropertyName("k")] int K,
    [property: JsonPropertyName("restoration_similarity")] SimilarityStats RestorationSimilarity,
    [property: JsonPropertyName("nearest_is_source")] double NearestIsSource,
    [property: JsonPropertyName("per_image")] ProbedImage[] PerImage)
{
    public const string FormatTag = "ambient-probe/1";
    public const string FileName = "probe.json";

    public void Save(string path) => ReportJson.Save(this, path);

    public static ProbeReport Load(string path) => ReportJson.Load<ProbeReport>(path, FormatTag, r => r.Format);
}
