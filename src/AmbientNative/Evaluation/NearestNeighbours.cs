using System.Buffers;
using AmbientNative.Backends;
using AmbientNative.Tensors;

namespace AmbientNative.Evaluation;

/// <summary>Knobs of <see cref="NearestNeighbours.Search(Tensor, Tensor, NeighbourSearchOptions?, CancellationToken)"/>.</summary>
public sealed record NeighbourSearchOptions
{
    /// <summary>Neighbours kept per query (clamped to the number of references).</summary>
    public int K { get; init; } = 3;
    /// <summary>Device whose backend runs the GEMMs (a GPU when present); null = <see cref="Device.Cpu"/>.</summary>
    public Device? Device { get; init; }
    /// <summary>Queries per GEMM. Device memory is (QueryChunk + ReferenceChunk)·D + QueryChunk·ReferenceChunk floats.</summary>
    public int QueryChunk { get; init; } = 2048;
    /// <summary>References (training images) per GEMM.</summary>
    public int ReferenceChunk { get; init; } = 1024;
}

/// <summary>
/// For each query (a generated sample), its k most cosine-similar references (training images) with their indices,
/// ordered by decreasing similarity; rank 0 is the maximum similarity the memorization report is built on.
/// Rows are stored query after query: <c>Similarity[q·K + r]</c>, <c>Index[q·K + r]</c>.
/// </summary>
public sealed class NeighbourResult
{
    internal NeighbourResult(int queries, int references, int k, float[] similarity, int[] index)
    {
        Queries = queries; References = references; K = k; Similarity = similarity; Index = index;
    }

    public int Queries { get; }
    public int References { get; }
    public int K { get; }
    /// <summary>[Queries, K] cosine similarities in [−1, 1], each row decreasing.</summary>
    public float[] Similarity { get; }
    /// <summary>[Queries, K] reference indices matching <see cref="Similarity"/>.</summary>
    public int[] Index { get; }

    public ReadOnlySpan<float> SimilaritiesOf(int query) => Similarity.AsSpan(query * K, K);
    public ReadOnlySpan<int> IndicesOf(int query) => Index.AsSpan(query * K, K);

    /// <summary>The maximum similarity of each query to any reference.</summary>
    public float[] MaxSimilarities()
    {
        var m = new float[Queries];
        for (int q = 0; q < Queries; q++) m[q] = Similarity[q * K];
        return m;
    }
}

/// <summary>
/// Cosine-similarity nearest neighbours as matrix products: rows are L2-normalised on the host while being staged
/// (a zero row stays zero, so its similarity to everything is 0), each (query chunk × reference chunk) block of
/// similarities is one GEMM Q·Rᵀ on the chosen backend, and the block is folded into a running top-k on the host.
/// Memory stays bounded by the chunk sizes however large the training set; the full similarity matrix never exists.
/// </summary>
public static class NearestNeighbours
{
    /// <summary>Features of both sets from <paramref name="extractor"/>, then <see cref="Search(Tensor, Tensor, NeighbourSearchOptions?, CancellationToken)"/>.</summary>
    public static NeighbourResult Search(IFeatureExtractor extractor, Tensor samples, Tensor training,
        NeighbourSearchOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(extractor);
        using var q = extractor.Extract(samples, cancellationToken);
        using var r = extractor.Extract(training, cancellationToken);
        return Search(q, r, options, cancellationToken);
    }

    /// <summary>
    /// Top-k cosine neighbours of each row of <paramref name="queries"/> [Nq, D] among the rows of
    /// <paramref name="references"/> [Nr, D]. Ties go to the lower reference index. Float32 rounding can push the
    /// cosine of identical rows a hair past 1; values are clamped to [−1, 1].
    /// </summary>
    public static NeighbourResult Search(Tensor queries, Tensor references, NeighbourSearchOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(references);
        var o = options ?? new NeighbourSearchOptions();
        if (queries.Rank != 2 || references.Rank != 2 || queries.Shape[1] != references.Shape[1])
            throw new ArgumentException($"nearest neighbours: queries {queries.Shape} and references {references.Shape} must be [Nq, D] and [Nr, D] with the same D.");
        int nq = queries.Shape[0], nr = references.Shape[0], d = queries.Shape[1];
        if (nq == 0 || nr == 0 || d == 0)
            throw new ArgumentException($"nearest neighbours: queries {queries.Shape} and references {references.Shape} must not be empty.");
        if (o.K < 1 || o.QueryChunk < 1 || o.ReferenceChunk < 1)
            throw new ArgumentOutOfRangeException(nameof(options), $"nearest neighbours: K ({o.K}), QueryChunk ({o.QueryChunk}) and ReferenceChunk ({o.ReferenceChunk}) must be positive.");

        var device = o.Device ?? Device.Cpu;
        var backend = device.Backend;
        int k = Math.Min(o.K, nr);
        var q = HostRows(queries);
        var r = HostRows(references);
        var qInv = InverseNorms(q, nq, d, "query");
        var rInv = InverseNorms(r, nr, d, "reference");

        var topSim = new float[nq * k];
        var topIdx = new int[nq * k];
        Array.Fill(topSim, float.NegativeInfinity);
        Array.Fill(topIdx, -1);

        int qc = Math.Min(o.QueryChunk, nq), rc = Math.Min(o.ReferenceChunk, nr);
        float[] staging = ArrayPool<float>.Shared.Rent(Math.Max(qc, rc) * d);
        float[] block = ArrayPool<float>.Shared.Rent(qc * rc);
        try
        {
            for (int q0 = 0; q0 < nq; q0 += qc)
            {
                int qn = Math.Min(qc, nq - q0);
                using var qDev = Stage(q, qInv, q0, qn, d, staging, device);
                for (int r0 = 0; r0 < nr; r0 += rc)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    int rn = Math.Min(rc, nr - r0);
                    using var rDev = Stage(r, rInv, r0, rn, d, staging, device);
                    using var sim = Tensor.Empty(new Shape(qn, rn), device);
                    // sim = Q·Rᵀ: R is read transposed in place, as stored [rn, D].
                    backend.Gemm(qDev, rDev, sim, new GemmArgs(1, qn, rn, d, TransB: true));
                    sim.Storage.CopyTo(block.AsSpan(0, qn * rn));
                    for (int i = 0; i < qn; i++)
                        Merge(block.AsSpan(i * rn, rn), r0, topSim.AsSpan((q0 + i) * k, k), topIdx.AsSpan((q0 + i) * k, k));
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(staging);
            ArrayPool<float>.Shared.Return(block);
        }
        return new NeighbourResult(nq, nr, k, topSim, topIdx);
    }

    /// <summary>Inserts each similarity of one query's block row into its sorted top-k (strict &gt;: earlier index wins ties).</summary>
    private static void Merge(ReadOnlySpan<float> sims, int offset, Span<float> topSim, Span<int> topIdx)
    {
        int k = topSim.Length;
        for (int j = 0; j < sims.Length; j++)
        {
            float v = Math.Clamp(sims[j], -1f, 1f);
            if (!(v > topSim[k - 1])) continue;
            int p = k - 1;
            while (p > 0 && v > topSim[p - 1])
            {
                topSim[p] = topSim[p - 1];
                topIdx[p] = topIdx[p - 1];
                p--;
            }
            topSim[p] = v;
            topIdx[p] = offset + j;
        }
    }

    /// <summary>Rows [start, start + count) scaled to unit length, uploaded to the device as [count, D].</summary>
    private static Tensor Stage(ReadOnlyMemory<float> rows, float[] inv, int start, int count, int d, float[] staging, Device device)
    {
        var src = rows.Span;
        var dst = staging.AsSpan(0, count * d);
        for (int i = 0; i < count; i++)
        {
            float s = inv[start + i];
            var from = src.Slice((start + i) * d, d);
            var to = dst.Slice(i * d, d);
            for (int j = 0; j < d; j++) to[j] = from[j] * s;
        }
        return Tensor.FromArray(dst, new Shape(count, d), device);
    }

    /// <summary>1/‖row‖ in double (0 for a zero row); throws on a non-finite value, naming the row.</summary>
    private static float[] InverseNorms(ReadOnlyMemory<float> rows, int n, int d, string what)
    {
        var span = rows.Span;
        var inv = new float[n];
        for (int i = 0; i < n; i++)
        {
            double ss = 0;
            foreach (float v in span.Slice(i * d, d))
            {
                if (!float.IsFinite(v))
                    throw new ArgumentException($"nearest neighbours: {what} row {i} contains {v}; features must be finite.");
                ss += (double)v * v;
            }
            inv[i] = ss > 0 ? (float)(1 / Math.Sqrt(ss)) : 0f;
        }
        return inv;
    }

    /// <summary>The tensor's values on the host: its own array for a CPU tensor, a copy otherwise.</summary>
    private static ReadOnlyMemory<float> HostRows(Tensor t) =>
        t.Storage is CpuStorage c ? c.Segment.AsMemory() : t.ToArray();
}
