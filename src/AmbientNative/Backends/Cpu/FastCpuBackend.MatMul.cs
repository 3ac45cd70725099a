using AmbientNative.Backends.Cpu.Fast;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

/// <summary>
/// IBackend.Gemm through the blocked SGEMM (Fast/Sgemm.cs), one call per batch, each split across the cores: matmul,
/// linear, attention and the nearest-neighbour search of the evaluation. Tested against MatMulRef by MatMulOpTests.
/// </summary>
public partial class FastCpuBackend
{
    public override void Gemm(Tensor a, Tensor b, Tensor c, GemmArgs g)
    {
        g.CheckSizes(a.Numel, b.Numel, c.Numel);
        ReadOnlySpan<float> sa = R(a), sb = R(b);
        var sc = S(c);
        int aSize = g.M * g.K, bSize = g.K * g.N, cSize = g.M * g.N;
        // Leading dimensions are the stored row lengths: A is [M, K] or, transposed, [K, M]; likewise B.
        for (int p = 0; p < g.Batch; p++)
            Sgemm.Multiply(g.TransA, g.TransB, g.M, g.N, g.K, g.Alpha,
                sa.Slice(p * aSize, aSize), g.TransA ? g.M : g.K,
                sb.Slice(p * bSize, bSize), g.TransB ? g.K : g.N,
                g.Beta, sc.Slice(p * cSize, cSize), g.N);
    }
}
