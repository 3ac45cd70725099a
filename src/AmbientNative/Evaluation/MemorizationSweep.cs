using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using AmbientNative.Tensors;

namespace AmbientNative.Evaluation;

/// <summary>One corruption level of a sweep.</summary>
/// <param name="Level">The corruption level (e.g. erase probability p) the model was trained at.</param>
/// <param name="FractionMemorized">Fraction of samples whose max similarity to the training set reaches the threshold.</param>
/// <param name="FractionAboveHeldOut">The same fraction against the held-out set: the rate at which unseen images look
/// like copies (near-duplicates in the data, a too-low threshold). Memorization is the excess of the first over this.</param>
/// <param name="MeanMaxSimilarityTrain">Mean over samples of the max similarity to the training set.</param>
/// <param name="QualityProxy">Mean over samples of the max similarity to the held-out set; see <see cref="SweepResult.QualityProxyDefinition"/>.</param>
public sealed record SweepPoint(
    [property: JsonPropertyName("level")] double Level,
    [property: JsonPropertyName("samples")] int Samples,
    [property: JsonPropertyName("fraction_memorized")] double FractionMemorized,
    [property: JsonPropertyName("fraction_above_held_out")] double FractionAboveHeldOut,
    [property: JsonPropertyName("mean_max_similarity_train")] double MeanMaxSimilarityTrain,
    [property: JsonPropertyName("quality_proxy")] double QualityProxy);

/// <summary>
/// The sweep table (sweep.csv, sweep.json): memorization and quality against corruption level, one row per level.
/// <see cref="Reports"/> holds each level's full memorization report (not part of sweep.json; write each beside the
/// level's run).
/// </summary>
public sealed record SweepResult(
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("feature_space")] string FeatureSpace,
    [property: JsonPropertyName("threshold")] double Threshold,
    [property: JsonPropertyName("training_images")] int TrainingImages,
    [property: JsonPropertyName("held_out_images")] int HeldOutImages,
    [property: JsonPropertyName("quality_proxy_definition")] string QualityProxyDefinition,
    [property: JsonPropertyName("points")] SweepPoint[] Points)
{
    public const string FormatTag = "ambient-sweep/1";

    /// <summary>
    /// Why the proxy is the mean nearest-neighbour similarity to held-out images: it rises when samples look like real
    /// images of the distribution (noise, blur and artefacts lower it), and copying the training set cannot inflate it,
    /// because the held-out images were never trained on: a copy of a training image is only as close to them as any
    /// real image is. It needs no pretrained classifier (unlike FID/IS), so it works on any data set; it is blind to
    /// diversity (mode collapse onto typical images scores well), so read it beside the fractions, not alone.
    /// </summary>
    public const string QualityProxyText =
        "mean over samples of the max cosine similarity to a held-out set of the same distribution: rises when samples " +
        "look like real images, not inflated by copying the training set (held-out images were never trained on); " +
        "blind to diversity";

    [JsonIgnore] public IReadOnlyList<MemorizationReport> Reports { get; init; } = [];

    /// <summary>The table as CSV (invariant culture): level,samples,fraction_memorized,fraction_above_held_out,mean_max_similarity_train,quality_proxy.</summary>
    public string ToCsv()
    {
        var sb = new StringBuilder("level,samples,fraction_memorized,fraction_above_held_out,mean_max_similarity_train,quality_proxy\n");
        foreach (var p in Points)
            sb.Append(CultureInfo.InvariantCulture, $"{p.Level:R},{p.Samples},{p.FractionMemorized:R},{p.FractionAboveHeldOut:R},{p.MeanMaxSimilarityTrain:R},{p.QualityProxy:R}\n");
        return sb.ToString();
    }

    public void SaveCsv(string path) => File.WriteAllText(path, ToCsv());
    public void Save(string path) => ReportJson.Save(this, path);
    public static SweepResult Load(string path) => ReportJson.Load<SweepResult>(path, FormatTag, r => r.Format);
}

/// <summary>Knobs of <see cref="MemorizationSweep.Run"/>.</summary>
public sealed record SweepOptions
{
    /// <summary>Max similarity at or above which a sample counts as memorized (the papers: 0.95 on DINOv2 features).</summary>
    public double Threshold { get; init; } = 0.95;
    /// <summary>null = <see cref="PixelFeatures"/>.</summary>
    public IFeatureExtractor? Features { get; init; }
    public NeighbourSearchOptions Search { get; init; } = new();
}

/// <summary>
/// Sweeps the corruption level (METHOD §4: corruption controls the trade-off between memorization and quality): for each
/// level, a caller-supplied function trains a model on the (fixed) training set at that level and returns its samples;
/// the sweep measures how many samples copy a training image and how real they look.
/// </summary>
public static class MemorizationSweep
{
    /// <param name="trainAndSample">Trains at a level and returns samples [S, C, H, W] in [−1, 1] (disposed here).</param>
    /// <param name="training">The images every model is trained on (clean versions: copies are searched among them).</param>
    /// <param name="heldOut">Images of the same distribution that no model is trained on.</param>
    public static SweepResult Run(IReadOnlyList<double> levels, Func<double, CancellationToken, Tensor> trainAndSample,
        Tensor training, Tensor heldOut, SweepOptions? options = null, IProgress<SweepPoint>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(levels);
        ArgumentNullException.ThrowIfNull(trainAndSample);
        ArgumentNullException.ThrowIfNull(training);
        ArgumentNullException.ThrowIfNull(heldOut);
        if (levels.Count == 0) throw new ArgumentException("sweep: no corruption levels.");
        var o = options ?? new SweepOptions();
        if (!(o.Threshold > -1 && o.Threshold <= 1))
            throw new ArgumentOutOfRangeException(nameof(options), $"sweep: threshold {o.Threshold} is outside (−1, 1].");
        var fx = o.Features ?? new PixelFeatures();
        if (training.Shape.Rank != 4 || heldOut.Shape.Rank != 4 || !training.Shape.Dims[1..].SequenceEqual(heldOut.Shape.Dims[1..]))
            throw new ArgumentException($"sweep: training {training.Shape} and held-out {heldOut.Shape} must both be [N, C, H, W] of one image size.");

        // Features of the two fixed sets once, reused at every level.
        using var fTrain = fx.Extract(training, cancellationToken);
        using var fHeld = fx.Extract(heldOut, cancellationToken);
        double[] thresholds = [o.Threshold];
        var points = new SweepPoint[levels.Count];
        var reports = new MemorizationReport[levels.Count];
        for (int l = 0; l < levels.Count; l++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var samples = trainAndSample(levels[l], cancellationToken);
            if (samples.Rank != 4 || !samples.Shape.Dims[1..].SequenceEqual(training.Shape.Dims[1..]))
                throw new InvalidOperationException($"sweep: samples at level {levels[l]} have shape {samples.Shape}; expected [S, {training.Shape[1]}, {training.Shape[2]}, {training.Shape[3]}].");
            using var fSamples = fx.Extract(samples, cancellationToken);
            var toTrain = MemorizationReport.From(NearestNeighbours.Search(fSamples, fTrain, o.Search, cancellationToken), fx.Name, thresholds);
            var toHeld = SimilarityStats.Of(NearestNeighbours.Search(fSamples, fHeld, o.Search, cancellationToken).MaxSimilarities(), thresholds);
            reports[l] = toTrain;
            points[l] = new SweepPoint(levels[l], samples.Shape[0], toTrain.MaxSimilarity.Above[0].Fraction, toHeld.Above[0].Fraction,
                toTrain.MaxSimilarity.Mean, toHeld.Mean);
            progress?.Report(points[l]);
        }
        return new SweepResult(SweepResult.FormatTag, fx.Name, o.Threshold, training.Shape[0], heldOut.Shape[0],
            SweepResult.QualityProxyText, points) { Reports = reports };
    }
}
