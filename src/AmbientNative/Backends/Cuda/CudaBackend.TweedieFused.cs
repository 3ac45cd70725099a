using System.Runtime.InteropServices;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cuda;

// Argument block of kernels/tweedie_fused.cu: must match its struct.
[StructLayout(LayoutKind.Sequential)]
internal struct TweedieLossArgs { public ulong D, Xt, Xtn, Coef, GLoss, Out, Partial, Ticket; public int N, Size; public float Scale; }

public sealed partial class CudaBackend
{
    /// <summary>Per-image λ-weighted sums into scratch (a block per image), and their mean by the last block to finish: one launch, one pass.</summary>
    public void TweedieLoss(Tensor d, Tensor xt, Tensor xtn, Tensor coefficients, Tensor loss, TweedieGeometry g)
    {
        if (UseIlgpuFused) { IlgpuTweedieLoss(d, xt, xtn, coefficients, loss, g); return; }
        using var ws = new Scratch(Allocator, 4L * g.N);
        var a = new TweedieLossArgs
        {
            D = P(d), Xt = P(xt), Xtn = P(xtn), Coef = P(coefficients), Out = P(loss), Partial = ws.Pointer, Ticket = Ticket,
            N = g.N, Size = g.ImageElements, Scale = 1f / g.N,
        };
        Launch("tweedie_fused.cu", "tweedie_loss", (uint)Math.Clamp(g.N, 1, 65535), 1024, a);
    }

    public void TweedieLossBackward(Tensor d, Tensor xt, Tensor xtn, Tensor coefficients, Tensor gLoss, Tensor gd, TweedieGeometry g)
    {
        if (UseIlgpuFused) { IlgpuTweedieLossBackward(d, xt, xtn, coefficients, gLoss, gd, g); return; }
        var a = new TweedieLossArgs
        {
            D = P(d), Xt = P(xt), Xtn = P(xtn), Coef = P(coefficients), GLoss = P(gLoss), Out = P(gd),
            N = g.N, Size = g.ImageElements, Scale = 2f / g.N,
        };
        Launch("tweedie_fused.cu", "tweedie_loss_backward", ElementwiseGrid(g.Size), 256, a);
    }
}
