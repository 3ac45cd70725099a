using AmbientNative.Backends;
using AmbientNative.Tensors;

namespace AmbientNative.Autograd;

public static partial class Ops
{
    /// <summary>
    /// Single-head self-attention over the H·W pixels as one op (see <see cref="Backends.Cpu.Reference.AttentionRef"/>):
    /// qkv [N, 3C, H, W] in EDM's interleaved layout → [N, C, H, W], scale 1/√C. Keeps only the per-query log-sum-exp
    /// [N, H·W] for the backward instead of the [N, H·W, H·W] probabilities the GEMM + softmax composition keeps.
    /// </summary>
    public static Tensor AttentionFused(Tensor qkv)
    {
        const string op = "AttentionFused";
        var (n, c3, h, w) = qkv.Shape.Nchw($"{op}: qkv");
        if (c3 % 3 != 0)
            throw new ArgumentException($"{op}: qkv {qkv.Shape} must have 3·C channels (q, k, v of each channel).");
        var g = new AttentionGeometry(n, c3 / 3, h * w);
        var output = New(qkv, new Shape(n, g.C, h, w));
        var lse = New(qkv, new Shape(n, g.Tokens));
        B(qkv).AttentionForward(qkv, output, lse, g);
        Tape.Record(output, [qkv], gOut =>
        {
            var gQkv = NewLike(qkv);
            B(qkv).AttentionBackward(qkv, output, lse, gOut, gQkv, g);
            Tape.Accumulate(qkv, gQkv);
        });
        // lse lives as long as the backward that reads it: owned by the tape when it was recorded.
        if (output.Producer == null) lse.Dispose();
        else Tape.Own(lse);
        return output;
    }
}
