using System.Text.Json.Serialization;

namespace AmbientNative.Evaluation;

/// <summary>
/// Equal-width histogram over [<see cref="Lo"/>, <see cref="Hi"/>]: bin i holds values in [edge(i), edge(i+1)),
/// the last bin also holds <see cref="Hi"/>; values outside the range are counted in the end bins.
/// Edges are compared in float32, the precision similarities are computed in, so a histogram and the
/// threshold fractions of <see cref="SimilarityStats"/> agree exactly on values that sit on an edge.
/// </summary>
public sealed record SimilarityHistogram(
    [property: JsonPropertyName("lo")] double Lo,
    [property: JsonPropertyName("hi")] double Hi,
    [property: JsonPropertyName("counts")] int[] Counts)
{
    public int Bins => Counts.Length;

    /// <summary>Left edge of bin <paramref name="i"/> (i = Bins gives Hi).</summary>
    public float Edge(int i) => (float)(Lo + (Hi - Lo) * i / Bins);

    public static SimilarityHistogram Of(ReadOnlySpan<float> values, int bins = 200, double lo = -1, double hi = 1)
    {
        if (bins < 1 || !(hi > lo))
            throw new ArgumentException($"similarity histogram: need bins ≥ 1 and lo < hi (got {bins} bins over [{lo}, {hi}]).");
        var h = new SimilarityHistogram(lo, hi, new int[bins]);
        foreach (float v in values)
        {
            // First guess from the arithmetic, then settle against the float edges themselves.
            int b = Math.Clamp((int)Math.Floor((v - lo) / (hi - lo) * bins), 0, bins - 1);
            while (b > 0 && v < h.Edge(b)) b--;
            while (b < bins - 1 && v >= h.Edge(b + 1)) b++;
            h.Counts[b]++;
        }
        return h;
    }
}

/// <summary>How many values reach <see cref="Threshold"/> (v ≥ threshold, compared in float32), and their fraction.</summary>
public sealed record ThresholdFraction(
    [property: JsonPropertyName("threshold")] double Threshold,
    [property: JsonPropertyName("count")] int Count,
    [property: JsonPropertyName("fraction")] double Fraction);

/// <summary>Summary of a set of similarities (max similarity per sample, or restoration similarity per probe image).</summary>
public sealed record SimilarityStats(
    [property: JsonPropertyName("count")] int Count,
    [property: JsonPropertyName("mean")] double Mean,
    [property: JsonPropertyName("median")] double Median,
    [property: JsonPropertyName("min")] double Min,
    [property: JsonPropertyName("max")] double Max,
    [property: JsonPropertyName("above")] ThresholdFraction[] Above,
    [property: JsonPropertyName("histogram")] SimilarityHistogram Histogram)
{
    /// <summary>The papers' thresholds: a sample whose max similarity reaches 0.95 counts as a copy.</summary>
    public static readonly double[] DefaultThresholds = [0.90, 0.95, 0.99];

    public static SimilarityStats Of(ReadOnlySpan<float> values, IReadOnlyList<double>? thresholds = null, int bins = 200)
    {
        if (values.IsEmpty) throw new ArgumentException("similarity stats: no values.");
        var sorted = values.ToArray();
        Array.Sort(sorted);
        int n = sorted.Length;
        double sum = 0;
        foreach (float v in sorted) sum += v;
        double median = n % 2 == 1 ? sorted[n / 2] : 0.5 * ((double)sorted[n / 2 - 1] + sorted[n / 2]);
        var above = (thresholds ?? DefaultThresholds).Select(t =>
        {
            int count = 0;
            foreach (float v in sorted) if (v >= (float)t) count++;
            return new ThresholdFraction(t, count, (double)count / n);
        }).ToArray();
        return new SimilarityStats(n, sum / n, median, sorted[0], sorted[n - 1], above, SimilarityHistogram.Of(values, bins));
    }

    /// <summary>The fraction at <paramref name="threshold"/>, which must be one of the thresholds these stats were built with.</summary>
    public double FractionAbove(double threshold) =>
        Above.FirstOrDefault(a => a.Threshold == threshold)?.Fraction
        ?? throw new ArgumentException($"similarity stats: no fraction for threshold {threshold} (have {string.Join(", ", Above.Select(a => a.Threshold))}).");
}
