using System.Text.Json;
using AmbientNative.Evaluation;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Evaluation;

public class MemorizationReportTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("ambient-eval-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void Fractions_and_histogram_counts_on_constructed_values()
    {
        // Values on the thresholds count as above (v ≥ t, in float32); 0.9f is below 0.90 in double, not in float.
        float[] v = [0.2f, 0.899f, 0.9f, 0.93f, 0.95f, 0.9499f, 0.99f, 1f, -0.5f, 0.995f];
        var s = SimilarityStats.Of(v);
        Assert.That(s.Above.Select(a => a.Count), Is.EqualTo(new[] { 7, 4, 3 }));
        Assert.That(s.FractionAbove(0.95), Is.EqualTo(0.4));
        Assert.That(s.Count, Is.EqualTo(10));
        Assert.That(s.Min, Is.EqualTo(-0.5f));
        Assert.That(s.Max, Is.EqualTo(1.0));
        Assert.That(s.Median, Is.EqualTo(0.5 * ((double)0.93f + 0.9499f)));
        Assert.That(s.Mean, Is.EqualTo(v.Sum(x => (double)x) / v.Length).Within(1e-12));

        var h = s.Histogram;
        Assert.That((h.Lo, h.Hi, h.Bins), Is.EqualTo((-1.0, 1.0, 200)));
        Assert.That(h.Counts.Sum(), Is.EqualTo(v.Length));
        int Bin(double edge) => Enumerable.Range(0, h.Bins).Single(i => h.Edge(i) == (float)edge);
        Assert.That(h.Counts[Bin(-0.5)], Is.EqualTo(1));
        Assert.That(h.Counts[Bin(0.89)], Is.EqualTo(1), "0.899 in [0.89, 0.90)");
        Assert.That(h.Counts[Bin(0.90)], Is.EqualTo(1), "0.9 on the edge goes right");
        Assert.That(h.Counts[Bin(0.94)], Is.EqualTo(1), "0.9499");
        Assert.That(h.Counts[Bin(0.95)], Is.EqualTo(1));
        Assert.That(h.Counts[Bin(0.99)], Is.EqualTo(3), "0.99, 0.995 and 1 (the last bin is closed)");
        // The histogram agrees with every threshold fraction.
        foreach (var a in s.Above)
            Assert.That(h.Counts.Skip(Bin(a.Threshold)).Sum(), Is.EqualTo(a.Count), $"bins from {a.Threshold}");
    }

    [Test]
    public void Histogram_counts_out_of_range_values_in_the_end_bins()
    {
        var h = SimilarityHistogram.Of([-3f, 0f, 0.25f, 0.5f, 0.99f, 7f], bins: 4, lo: 0, hi: 1);
        Assert.That(h.Counts, Is.EqualTo(new[] { 2, 1, 1, 2 }));
        Assert.Throws<ArgumentException>(() => SimilarityHistogram.Of([0f], bins: 0));
        Assert.Throws<ArgumentException>(() => SimilarityStats.Of([]));
    }

    private static MemorizationReport RandomReport(int queries = 6, int refs = 40, int k = 3)
    {
        var rng = Rand.ForTest();
        var sims = new float[queries * k];
        var idx = new int[queries * k];
        for (int q = 0; q < queries; q++)
        {
            var row = Enumerable.Range(0, k).Select(_ => rng.NextFloat() * 2 - 1).OrderDescending().ToArray();
            row.CopyTo(sims, q * k);
            rng.Permutation(refs).AsSpan(0, k).CopyTo(idx.AsSpan(q * k));
        }
        return MemorizationReport.From(new NeighbourResult(queries, refs, k, sims, idx), "pixels (centred)", bins: 20);
    }

    [Test]
    public void Report_json_round_trips_with_stable_field_names()
    {
        var r = RandomReport();
        var path = Path.Combine(_dir, "run", MemorizationReport.FileName);
        r.Save(path);
        var back = MemorizationReport.Load(path);

        Assert.That(back.Format, Is.EqualTo(MemorizationReport.FormatTag));
        Assert.That((back.FeatureSpace, back.Samples, back.TrainingImages, back.K), Is.EqualTo((r.FeatureSpace, 6, 40, 3)));
        Assert.That(back.MaxSimilarity with { Above = [], Histogram = null! }, Is.EqualTo(r.MaxSimilarity with { Above = [], Histogram = null! }));
        Assert.That(back.MaxSimilarity.Above, Is.EqualTo(r.MaxSimilarity.Above));
        Assert.That(back.MaxSimilarity.Histogram.Counts, Is.EqualTo(r.MaxSimilarity.Histogram.Counts));
        for (int q = 0; q < r.Samples; q++)
        {
            Assert.That(back.Neighbours[q].Sample, Is.EqualTo(q));
            Assert.That(back.Neighbours[q].Indices, Is.EqualTo(r.Neighbours[q].Indices));
            Assert.That(back.Neighbours[q].Similarities, Is.EqualTo(r.Neighbours[q].Similarities), "floats survive exactly");
        }

        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        Assert.That(root.EnumerateObject().Select(p => p.Name),
            Is.EqualTo(new[] { "format", "feature_space", "samples", "training_images", "k", "max_similarity", "neighbours" }));
        Assert.That(root.GetProperty("max_similarity").EnumerateObject().Select(p => p.Name),
            Is.EqualTo(new[] { "count", "mean", "median", "min", "max", "above", "histogram" }));
        Assert.That(root.GetProperty("max_similarity").GetProperty("above")[1].GetProperty("threshold").GetDouble(), Is.EqualTo(0.95));
        Assert.That(root.GetProperty("neighbours")[0].EnumerateObject().Select(p => p.Name),
            Is.EqualTo(new[] { "sample", "indices", "similarities" }));
        Assert.That(Directory.GetFiles(Path.GetDirectoryName(path)!), Has.Length.EqualTo(1), "no temporary file left behind");
    }

    [Test]
    public void Most_similar_orders_samples_by_max_similarity()
    {
        var res = new NeighbourResult(4, 10, 2, [0.5f, 0.1f, 0.99f, 0.2f, 0.7f, 0.6f, 0.99f, 0.3f], [1, 2, 3, 4, 5, 6, 7, 8]);
        var r = MemorizationReport.From(res, "test");
        Assert.That(r.MostSimilar(3), Is.EqualTo(new[] { 1, 3, 2 }));
        Assert.That(r.MostSimilar(10), Has.Length.EqualTo(4));
    }

    [Test]
    public void Loading_something_else_names_the_file_and_the_field()
    {
        var path = Path.Combine(_dir, "other.json");
        File.WriteAllText(path, "{\"format\": \"ambient-probe/1\"}");
        var e = Assert.Throws<InvalidDataException>(() => MemorizationReport.Load(path))!;
        Assert.That(e.Message, Does.Contain(path).And.Contain("format").And.Contain(MemorizationReport.FormatTag));
        File.WriteAllText(path, "{\"format\": ");
        e = Assert.Throws<InvalidDataException>(() => MemorizationReport.Load(path))!;
        Assert.That(e.Message, Does.Contain(path));
    }
}
