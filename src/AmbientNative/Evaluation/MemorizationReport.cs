using System.Text.Json.Serialization;

namespace AmbientNative.Evaluation;

/// <summary>One generated sample's nearest training images, most similar first.</summary>
public sealed record SampleNeighbours(
    [property: JsonPropertyName("sample")] int Sample,
    [property: JsonPropertyName("indices")] int[] Indices,
    [property: JsonPropertyName("similarities")] float[] Similarities);

/// <summary>
/// How close generated samples come to the training set (METHOD §4). Written as <c>report.json</c>; the field names
/// are a stable format (<see cref="FormatTag"/>), so scripts can read it:
/// <code>
/// {
///   "format": "ambient-memorization/1",
///   "feature_space": "pixels (centred)",     // the IFeatureExtractor's Name
///   "samples": 100,                          // generated samples searched
///   "training_images": 300,                  // references searched
///   "k": 3,                                  // neighbours kept per sample
///   "max_similarity": {                      // over samples, of the max cosine similarity to any training image
///     "count", "mean", "median", "min", "max",
///     "above": [ { "threshold": 0.9, "count": 12, "fraction": 0.12 }, ... 0.95, 0.99 ],   // v ≥ threshold
///     "histogram": { "lo": -1, "hi": 1, "counts": [ ... ] }   // equal-width bins [edge_i, edge_i+1)
///   },
///   "neighbours": [ { "sample": 0, "indices": [17, 3, 250], "similarities": [0.97, 0.81, 0.80] }, ... ]
/// }
/// </code>
/// </summary>
public sealed record MemorizationReport(
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("feature_space")] string FeatureSpace,
    [property: JsonPropertyName("samples")] int Samples,
    [property: JsonPropertyName("training_images")] int TrainingImages,
    [property: JsonPropertyName("k")] int K,
    [property: JsonPropertyName("max_similarity")] SimilarityStats MaxSimilarity,
    [property: JsonPropertyName("neighbours")] SampleNeighbours[] Neighbours)
{
    public const string FormatTag = "ambient-memorization/1";
    public const string FileName = "report.json";

    public static MemorizationReport From(NeighbourResult result, string featureSpace,
        IReadOnlyList<double>? thresholds = null, int bins = 200)
    {
        ArgumentNullException.ThrowIfNull(result);
        var neighbours = new SampleNeighbours[result.Queries];
        for (int q = 0; q < result.Queries; q++)
            neighbours[q] = new SampleNeighbours(q, result.IndicesOf(q).ToArray(), result.SimilaritiesOf(q).ToArray());
        return new MemorizationReport(FormatTag, featureSpace, result.Queries, result.References, result.K,
            SimilarityStats.Of(result.MaxSimilarities(), thresholds, bins), neighbours);
    }

    /// <summary>Samples ordered by decreasing max similarity (ties by sample index): the grid shows the first few.</summary>
    public int[] MostSimilar(int count) => Neighbours
        .OrderByDescending(n => n.Similarities[0]).ThenBy(n => n.Sample)
        .Take(count).Select(n => n.Sample).ToArray();

    public void Save(string path) => ReportJson.Save(this, path);

    public static MemorizationReport Load(string path) => ReportJson.Load<MemorizationReport>(path, FormatTag, r => r.Format);
}
