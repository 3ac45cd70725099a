using AmbientNative.Tensors;

namespace AmbientNative.Backends;

/// <summary>Sizes of the fused attention: N images, C channels per head (one head), T tokens (H·W); scale 1/√C.</summary>
public readonly record struct AttentionGeometry(int N, int C, int Tokens)
{
    public float Scale => 1f / MathF.Sqrt(C);
    public long QkvSize => 3L * N * C * Tokens;
    public long OutputSize => (long)N * C * Tokens;
}

public partial interface IBackend
{
    /// <summary>
    /// True when Nn.Attention should run attention of these sizes as the fused op (<see cref="AttentionForward"/>) on this
    /// backend rather than as GEMM + softmax + GEMM. The backend's choice, not a measured speed: the reference runs the
    /// op (it is the specification), the ILGPU backends run their kernel where it fits (to exercise and measure it),
    /// the fast CPU backend and CUDA C run the composition.
    /// </summary>
    bool PrefersFusedAttention(AttentionGeometry g);

    /// <summary><see cref="Cpu.Reference.AttentionRef.Forward{T}"/>: qkv [N, C, 3, T] → output [N, C, T] and lse [N, T].</summary>
    void AttentionForward(Tensor qkv, Tensor output, Tensor lse, AttentionGeometry g);

    /// <summary><see cref="Cpu.Reference.AttentionRef.Backward{T}"/>: every element of gQkv [N, C, 3, T] written.</summary>
    void AttentionBackward(Tensor qkv, Tensor output, Tensor lse, Tensor gOut, Tensor gQkv, AttentionGeometry g);
}
