using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

public partial class ReferenceBackend
{
    /// <summary>The reference runs the fused op (it is the specification the kernels are checked against).</summary>
    public virtual bool PrefersFusedAttention(AttentionGeometry g) => true;

    public virtual void AttentionForward(Tensor qkv, Tensor output, Tensor lse, AttentionGeometry g) =>
        AttentionRef.Forward<float>(R(qkv), S(output), S(lse), g.N, g.C, g.Tokens, g.Scale);

    public virtual void AttentionBackward(Tensor qkv, Tensor output, Tensor lse, Tensor gOut, Tensor gQkv, AttentionGeometry g) =>
        AttentionRef.Backward<float>(R(qkv), R(output), R(lse), R(gOut), S(gQkv), g.N, g.C, g.Tokens, g.Scale);
}
