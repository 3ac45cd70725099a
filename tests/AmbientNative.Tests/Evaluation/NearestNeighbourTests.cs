using AmbientNative.Evaluation;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Evaluation;

public class NearestNeighbourTests
{
    private static readonly Device[] Devices = [Device.CpuReference, Device.Cpu];

    /// <summary>The specification in float64: centre, normalise, every dot product, sort (ties to the lower index).</summary>
    private static double[][] BruteForceSimilarities(double[] queries, double[] refs, int d)
    {
        static double[][] Prepare(double[] x, int d)
        {
            var rows = new double[x.Length / d][];
            for (int i = 0; i < rows.Length; i++)
            {
                var row = x.AsSpan(i * d, d).ToArray();
                double mean = row.Average();
                for (int j = 0; j < d; j++) row[j] -= mean;
                double norm = Math.Sqrt(row.Sum(v => v * v));
                for (int j = 0; j < d; j++) row[j] = norm > 0 ? row[j] / norm : 0;
                rows[i] = row;
            }
            return rows;
        }
        var q = Prepare(queries, d);
        var r = Prepare(refs, d);
        return q.Select(qi => r.Select(rj => qi.Zip(rj, (a, b) => a * b).Sum()).ToArray()).ToArray();
    }

    private static Tensor Images(double[] x, int n, int c, int h, int w, Device? device = null) =>
        Tensor.FromArray(Check.ToFloat(x), new Shape(n, c, h, w), device);

    private static NeighbourResult PixelSearch(Tensor samples, Tensor training, NeighbourSearchOptions options) =>
        NearestNeighbours.Search(new PixelFeatures(), samples, training, options);

    // 23 references in chunks of 5 (last chunk 3) and 7 queries in chunks of 3 (last chunk 1): chunk boundaries
    // that are not multiples of anything, D = 3·5·4 = 60.
    [TestCaseSource(nameof(Devices))]
    public void Top_k_matches_float64_brute_force_across_uneven_chunks(Device device)
    {
        const int nq = 7, nr = 23, c = 3, h = 5, w = 4, d = c * h * w;
        var rng = Rand.ForTest();
        var qx = Rand.Uniform(rng, nq * d, -1, 1);
        var rx = Rand.Uniform(rng, nr * d, -1, 1);
        // Make a few queries close to known references so top-1 is not just noise-level.
        for (int j = 0; j < d; j++) { qx[2 * d + j] = 0.9 * rx[11 * d + j] + 0.1 * qx[2 * d + j]; qx[6 * d + j] = rx[22 * d + j] + 0.05 * qx[6 * d + j]; }
        var sims = BruteForceSimilarities(qx, rx, d);

        using var qs = Images(qx, nq, c, h, w);
        using var rs = Images(rx, nr, c, h, w);
        var res = PixelSearch(qs, rs, new NeighbourSearchOptions { K = 3, Device = device, QueryChunk = 3, ReferenceChunk = 5 });

        Assert.That((res.Queries, res.References, res.K), Is.EqualTo((nq, nr, 3)));
        for (int i = 0; i < nq; i++)
        {
            var sorted = sims[i].Select((s, j) => (s, j)).OrderByDescending(p => p.s).ThenBy(p => p.j).ToArray();
            var idx = res.IndicesOf(i);
            var sim = res.SimilaritiesOf(i);
            Assert.That(idx.ToArray().Distinct().Count(), Is.EqualTo(3), $"query {i}: repeated neighbour");
            for (int rank = 0; rank < 3; rank++)
            {
                // The reported value is the true rank-th best, and the reported index really has that similarity
                // (robust to float32 reordering of near-ties, strict otherwise).
                Assert.That(sim[rank], Is.EqualTo(sorted[rank].s).Within(2e-6), $"query {i} rank {rank} similarity");
                Assert.That(sims[i][idx[rank]], Is.EqualTo(sorted[rank].s).Within(2e-6), $"query {i} rank {rank} index {idx[rank]}");
            }
        }
        Assert.That(res.IndicesOf(2)[0], Is.EqualTo(11));
        Assert.That(res.IndicesOf(6)[0], Is.EqualTo(22));
        Assert.That(res.MaxSimilarities(), Is.EqualTo(Enumerable.Range(0, nq).Select(i => res.SimilaritiesOf(i)[0]).ToArray()));
    }

    [Test]
    public void Result_does_not_depend_on_chunk_sizes()
    {
        const int nq = 9, nr = 31, d = 17;
        var rng = Rand.ForTest();
        using var q = Tensor.FromArray(Check.ToFloat(Rand.Normal(rng, nq * d)), new Shape(nq, d));
        using var r = Tensor.FromArray(Check.ToFloat(Rand.Normal(rng, nr * d)), new Shape(nr, d));
        var whole = NearestNeighbours.Search(q, r, new NeighbourSearchOptions { K = 4 });
        foreach (var (qc, rc) in new[] { (1, 1), (2, 7), (9, 30), (4, 31), (100, 100) })
        {
            var part = NearestNeighbours.Search(q, r, new NeighbourSearchOptions { K = 4, QueryChunk = qc, ReferenceChunk = rc });
            Assert.That(part.Index, Is.EqualTo(whole.Index), $"chunks {qc}×{rc}");
            Assert.That(part.Similarity, Is.EqualTo(whole.Similarity).Within(1e-6f), $"chunks {qc}×{rc}");
        }
    }

    [TestCaseSource(nameof(Devices))]
    public void Exact_copies_have_similarity_one_and_the_right_index(Device device)
    {
        const int nr = 13, c = 1, h = 6, w = 7, d = c * h * w;
        var rng = Rand.ForTest();
        var rx = Rand.Uniform(rng, nr * d, -1, 1);
        int[] copied = [12, 0, 5, 7];
        var qx = new double[copied.Length * d];
        for (int i = 0; i < copied.Length; i++) Array.Copy(rx, copied[i] * d, qx, i * d, d);
        // A brightness/contrast change of a copy is still a copy in centred pixel space (query 3: 0.5·x + 0.2).
        for (int j = 0; j < d; j++) qx[3 * d + j] = 0.5 * qx[3 * d + j] + 0.2;
        using var qs = Images(qx, copied.Length, c, h, w);
        using var rs = Images(rx, nr, c, h, w);
        var res = PixelSearch(qs, rs, new NeighbourSearchOptions { Device = device, ReferenceChunk = 4 });
        for (int i = 0; i < copied.Length; i++)
        {
            Assert.That(res.IndicesOf(i)[0], Is.EqualTo(copied[i]), $"query {i}");
            Assert.That(res.SimilaritiesOf(i)[0], Is.EqualTo(1f).Within(1e-6f), $"query {i}");
            Assert.That(res.SimilaritiesOf(i)[1], Is.LessThan(0.9f), $"query {i}: random images are not near-copies");
        }
    }

    [Test]
    public void Duplicated_training_images_tie_to_the_lower_index_and_k_is_clamped()
    {
        // Rows 1 and 3 are identical; a query equal to them must list both (1 first), and with 4 references K = 6 → 4.
        var r = Tensor.FromArray([1, 2, 3, 4, 5, 4, 5, 6, 3, 1, 7, 0, 0, 1, 2, 4, 5, 6, 3, 1], 4, 5);
        using var _ = r;
        using var q = Tensor.FromArray([4, 5, 6, 3, 1], 1, 5);
        var res = NearestNeighbours.Search(q, r, new NeighbourSearchOptions { K = 6 });
        Assert.That(res.K, Is.EqualTo(4));
        Assert.That(res.IndicesOf(0)[0], Is.EqualTo(1));
        Assert.That(res.IndicesOf(0)[1], Is.EqualTo(3));
        Assert.That(res.SimilaritiesOf(0)[1], Is.EqualTo(1f).Within(1e-6f));
    }

    [Test]
    public void A_constant_image_has_similarity_zero_not_nan()
    {
        using var q = Tensor.FromArray([0.3f, 0.3f, 0.3f, 0.3f], 1, 1, 2, 2);
        using var r = Tensor.FromArray([0.3f, 0.3f, 0.3f, 0.3f, 1f, -1f, 0.5f, 0f], 2, 1, 2, 2);
        var res = PixelSearch(q, r, new NeighbourSearchOptions { K = 2 });
        Assert.That(res.Similarity, Is.EqualTo(new[] { 0f, 0f }));
        Assert.That(res.Index, Is.EqualTo(new[] { 0, 1 }));
    }

    [Test]
    public void Pixel_features_flatten_and_centre_each_image()
    {
        using var x = Tensor.FromArray([1, 2, 3, 6, -1, -1, -1, -1], 2, 1, 2, 2);
        using var f = new PixelFeatures().Extract(x);
        Assert.That(f.Shape, Is.EqualTo(new Shape(2, 4)));
        Assert.That(f.ToArray(), Is.EqualTo(new[] { -2f, -1f, 0f, 3f, 0f, 0f, 0f, 0f }));
    }

    [Test]
    public void Bad_inputs_give_clear_errors()
    {
        using var a = Tensor.FromArray(new float[6], 2, 3);
        using var b = Tensor.FromArray(new float[8], 2, 4);
        var e = Assert.Throws<ArgumentException>(() => NearestNeighbours.Search(a, b))!;
        Assert.That(e.Message, Does.Contain("[2, 3]").And.Contain("[2, 4]").And.Contain("same D"));

        using var nan = Tensor.FromArray([1, float.NaN, 2, 0, 1, 2], 2, 3);
        e = Assert.Throws<ArgumentException>(() => NearestNeighbours.Search(a, nan))!;
        Assert.That(e.Message, Does.Contain("reference row 0").And.Contain("NaN"));

        Assert.Throws<ArgumentOutOfRangeException>(() => NearestNeighbours.Search(a, a, new NeighbourSearchOptions { K = 0 }));
        using var flat = Tensor.FromArray(new float[3], 3);
        Assert.Throws<ArgumentException>(() => new PixelFeatures().Extract(flat));
    }
}
