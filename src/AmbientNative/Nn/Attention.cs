using AmbientNative.Autograd;
using AmbientNative.Tensors;

namespace AmbientNative.Nn;

/// <summary>
/// Single-head self-attention over the pixels, as in EDM's UNetBlock (num_heads = 1): given the output of a 1×1
/// qkv convolution, out[c, i] = Σ_j softmax_j(Σ_c' q[c', i]·k[c', j] / √C) · v[c, j]. The norm, the qkv and output
/// projections and the residual belong to the block (their parameter names are the block's).
/// </summary>
public static class Attention
{
    /// <summary>
    /// qkv [N, 3C, H, W] → [N, C, H, W]. Channel layout is EDM's: qkv.reshape(N, C, 3, H·W) puts q, k, v of channel
    /// c at channels 3c, 3c + 1, 3c + 2 (interleaved, not three blocks), so PyTorch weights load unchanged.
    /// </summary>
    public static Tensor Forward(Tensor qkv)
    {
        var (n, c3, h, w) = qkv.Shape.Nchw("attention qkv");
        if (c3 % 3 != 0)
            throw new ArgumentException($"attention: qkv {qkv.Shape} must have 3·C channels.");
        int c = c3 / 3, hw = h * w;
        // The fused op where the backend chooses it (IBackend.PrefersFusedAttention: the reference, the ILGPU kernels);
        // the same math as the composition below.
        return qkv.Device.Backend.PrefersFusedAttention(new(n, c, hw)) ? Ops.AttentionFused(qkv) : Composed(qkv);
    }

    /// <summary>The same attention as GEMM + softmax + GEMM through the tape (what Forward runs unless the backend prefers the fused op).</summary>
    internal static Tensor Composed(Tensor qkv)
    {
        var (n, c3, h, w) = qkv.Shape.Nchw("attention qkv");
        int c = c3 / 3, hw = h * w;
        var r = Ops.Reshape(qkv, n, c, 3, hw);
        Tensor Part(int j) => Ops.Reshape(Ops.Slice(r, 2, j, 1), n, c, hw);
        var q = Part(0);
        var k = Part(1) * (1f / MathF.Sqrt(c)); // scaling k (C·HW values) is cheaper than the HW² logits
        var v = Part(2);
        var p = Ops.Softmax(Ops.BatchedMatMul(q, k, transA: true)); // [N, HW_query, HW_key]
        var a = Ops.BatchedMatMul(v, p, transB: true);              // [N, C, HW_query]
        return Ops.Reshape(a, n, c, h, w);
    }
}
