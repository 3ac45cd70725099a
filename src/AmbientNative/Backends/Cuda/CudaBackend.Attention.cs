using System.Runtime.InteropServices;
using AmbientNative.Backends.Ilgpu;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cuda;

// Argument block of kernels/attention.cu: must match its struct.
[StructLayout(LayoutKind.Sequential)]
internal struct AttentionArgs { public ulong Qkv, OutIn, LseIn, GOut, Out, Lse, GQkv, P, Gs; public int N, C, T; public float Scale; }

public sealed partial class CudaBackend
{
    /// <summary>Most tokens (and channels) kernels/attention.cu takes: a tile's row of logits lives in shared memory.</summary>
    public const int FusedAttentionMaxTokens = 256, FusedAttentionMaxChannels = 256;

    private const int AttentionTile = 32, AttentionThreads = 256;

    /// <summary>
    /// Whether Nn.Attention runs the fused CUDA C attention (kernels/attention.cu) where it fits, instead of GEMM +
    /// softmax + GEMM. Off by default: the fused kernel is checked against the reference (on the CUDA emulator) but
    /// has not been timed on a GPU against the composition, which has (docs/PERF.md). With the ILGPU fused kernels
    /// selected (<see cref="FusedKernels"/>), the ILGPU attention runs instead, where it fits.
    /// </summary>
    public bool FusedAttention { get; set; }

    public bool PrefersFusedAttention(AttentionGeometry g) =>
        UseIlgpuFused ? IlgpuAttention.Fits(g) : FusedAttention && FusedAttentionFits(g);

    /// <summary>True when kernels/attention.cu takes these sizes.</summary>
    public static bool FusedAttentionFits(AttentionGeometry g) =>
        g.N is >= 1 and <= MaxGridYZ && g.C is >= 1 and <= FusedAttentionMaxChannels && g.Tokens is >= 1 and <= FusedAttentionMaxTokens;

    public void AttentionForward(Tensor qkv, Tensor output, Tensor lse, AttentionGeometry g)
    {
        if (UseIlgpuFused)
        {
            Context.MakeCurrent();
            IlgpuAttentionKernels.Forward(new(IlgpuView(qkv), IlgpuView(output), IlgpuView(lse), default, default, default, default), g);
            Launches++;
            return;
        }
        RequireFusedAttentionFits(g);
        RequireSizes(g, ("qkv", qkv, g.QkvSize), ("output", output, g.OutputSize), ("lse", lse, (long)g.N * g.Tokens));
        var a = new AttentionArgs { Qkv = P(qkv), Out = P(output), Lse = P(lse), N = g.N, C = g.C, T = g.Tokens, Scale = g.Scale };
        Launch("attention.cu", "attention_forward", (Tiles(g), (uint)g.N, 1u), AttentionThreads, a);
    }

    public void AttentionBackward(Tensor qkv, Tensor output, Tensor lse, Tensor gOut, Tensor gQkv, AttentionGeometry g)
    {
        if (UseIlgpuFused) { IlgpuAttentionBackward(qkv, output, lse, gOut, gQkv, g); return; }
        RequireFusedAttentionFits(g);
        RequireSizes(g, ("qkv", qkv, g.QkvSize), ("output", output, g.OutputSize), ("lse", lse, (long)g.N * g.Tokens),
            ("gOut", gOut, g.OutputSize), ("gQkv", gQkv, g.QkvSize));
        long scores = (long)g.N * g.Tokens * g.Tokens;
        using var p = new Scratch(Allocator, 4 * scores);
        using var ds = new Scratch(Allocator, 4 * scores);
        var a = new AttentionArgs
        {
            Qkv = P(qkv), OutIn = P(output), LseIn = P(lse), GOut = P(gOut), GQkv = P(gQkv), P = p.Pointer, Gs = ds.Pointer,
            N = g.N, C = g.C, T = g.Tokens, Scale = g.Scale,
        };
        Launch("attention.cu", "attention_backward_rows", (Tiles(g), (uint)g.N, 1u), AttentionThreads, a);
        Launch("attention.cu", "attention_backward_columns", (Tiles(g), (uint)g.N, 1u), AttentionThreads, a);
    }

    private static uint Tiles(AttentionGeometry g) => (uint)((g.Tokens + AttentionTile - 1) / AttentionTile);

    private static void RequireSizes(AttentionGeometry g, params (string Name, Tensor T, long Numel)[] tensors)
    {
        foreach (var (name, t, numel) in tensors)
            if (t.Numel != numel)
                throw new ArgumentException($"fused attention (CUDA C): {name} {t.Shape} holds {t.Numel} values; N={g.N}, C={g.C}, T={g.Tokens} need {numel}.");
    }

    private static void RequireFusedAttentionFits(AttentionGeometry g)
    {
        if (!FusedAttentionFits(g))
            throw new ArgumentException(
                $"fused attention (CUDA C): {g.N} images, {g.C} channels, {g.Tokens} tokens; it takes 1..{FusedAttentionMaxChannels} channels, " +
                $"1..{FusedAttentionMaxTokens} tokens and 1..{MaxGridYZ} images (Nn.Attention uses GEMM + softmax beyond that).");
    }

    private void IlgpuAttentionBackward(Tensor qkv, Tensor output, Tensor lse, Tensor gOut, Tensor gQkv, AttentionGeometry g)
    {
        Context.MakeCurrent();
        IlgpuAttention.Check(g); // before sizing the scratch: N·T² must fit 32 bits
        int scores = g.N * g.Tokens * g.Tokens;
        using var p = new Scratch(Allocator, 4L * scores);
        using var gs = new Scratch(Allocator, 4L * scores);
        IlgpuAttentionKernels.Backward(new(IlgpuView(qkv), IlgpuView(output), IlgpuView(lse), IlgpuView(gOut), IlgpuView(gQkv),
            IlgpuView(p.Pointer, scores), IlgpuView(gs.Pointer, scores)), g);
        Launches += 2;
    }

    private IlgpuAttention? _ilgpuAttention;
    private IlgpuAttention IlgpuAttentionKernels => _ilgpuAttention ??= new IlgpuAttention(Ilgpu!);
}
