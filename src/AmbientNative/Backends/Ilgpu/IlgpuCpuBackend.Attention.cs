using AmbientNative.Tensors;

namespace AmbientNative.Backends.Ilgpu;

public sealed partial class IlgpuCpuBackend
{
    private IlgpuAttention? _attention;
    internal IlgpuAttention AttentionKernels => _attention ??= new IlgpuAttention(_runtime);

    /// <summary>Yes wherever the kernel fits (this backend exists to exercise the ILGPU kernels).</summary>
    public override bool PrefersFusedAttention(AttentionGeometry g) => IlgpuAttention.Fits(g);

    public override void AttentionForward(Tensor qkv, Tensor output, Tensor lse, AttentionGeometry g)
    {
        using HostView<float> vq = V(qkv), vo = V(output), vl = V(lse);
        AttentionKernels.Forward(new(vq.View, vo.View, vl.View, default, default, default, default), g);
        Sync();
    }

    public override void AttentionBackward(Tensor qkv, Tensor output, Tensor lse, Tensor gOut, Tensor gQkv, AttentionGeometry g)
    {
        long scores = (long)g.N * g.Tokens * g.Tokens;
        using HostView<float> vq = V(qkv), vo = V(output), vl = V(lse), vg = V(gOut), vgq = V(gQkv);
        using HostView<float> p = V(new float[scores]), gs = V(new float[scores]);
        AttentionKernels.Backward(new(vq.View, vo.View, vl.View, vg.View, vgq.View, p.View, gs.View), g);
        Sync();
    }
}
