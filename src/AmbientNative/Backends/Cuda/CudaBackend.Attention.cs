using AmbientNative.Backends.Ilgpu;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cuda;

public sealed partial class CudaBackend
{
    /// <summary>
    /// Only with the ILGPU fused kernels selected (<see cref="FusedKernels"/> = Ilgpu, in ILGPU's context): the fused
    /// attention kernel is the C# one (Backends/Ilgpu/IlgpuAttention.cs); no CUDA C attention kernel is written yet, so
    /// by default Nn.Attention runs the GEMM + softmax composition on our CUDA C kernels.
    /// </summary>
    public bool PrefersFusedAttention(AttentionGeometry g) => UseIlgpuFused && IlgpuAttention.Fits(g);

    public void AttentionForward(Tensor qkv, Tensor output, Tensor lse, AttentionGeometry g)
    {
        RequireIlgpuAttention();
        Context.MakeCurrent();
        IlgpuAttentionKernels.Forward(new(IlgpuView(qkv), IlgpuView(output), IlgpuView(lse), default, default, default, default), g);
        Launches++;
    }

    public void AttentionBackward(Tensor qkv, Tensor output, Tensor lse, Tensor gOut, Tensor gQkv, AttentionGeometry g)
    {
        RequireIlgpuAttention();
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

    private void RequireIlgpuAttention()
    {
        if (!UseIlgpuFused)
            throw new InvalidOperationException(
                $"{Device}: fused attention runs the ILGPU kernel only: create the device in ILGPU's context " +
                "(AMBIENT_CUDA_CONTEXT=ilgpu) and set FusedKernels = Ilgpu; Nn.Attention otherwise uses GEMM + softmax.");
    }
}
