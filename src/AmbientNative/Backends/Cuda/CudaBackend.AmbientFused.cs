using System.Runtime.InteropServices;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cuda;

// Argument blocks of kernels/ambient_fused.cu: must match its structs.
[StructLayout(LayoutKind.Sequential)]
internal struct AmbientInputArgs { public ulong Y, Noise, Sigma, Mask, Masked, Input; public int N, C, Cm, Ck, Hw; public float Sd2; }

[StructLayout(LayoutKind.Sequential)]
internal struct AmbientLossArgs { public ulong D, Y, Mask, Weight, GLoss, Out; public int N, C, Cm, Hw; public float Scale; }

public sealed partial class CudaBackend
{
    public void AmbientInput(Tensor y, Tensor noise, Tensor sigma, Tensor mask, Tensor masked, Tensor input, AmbientGeometry g, float sigmaData)
    {
        if (UseIlgpuFused) { IlgpuAmbientInput(y, noise, sigma, mask, masked, input, g, sigmaData); return; }
        var a = new AmbientInputArgs
        {
            Y = P(y), Noise = P(noise), Sigma = P(sigma), Mask = P(mask), Masked = P(masked), Input = P(input),
            N = g.N, C = g.C, Cm = g.MaskChannels, Ck = g.InputMaskChannels, Hw = g.Pixels, Sd2 = sigmaData * sigmaData,
        };
        Launch("ambient_fused.cu", "ambient_input", ElementwiseGrid(g.InputSize), 256, a);
    }

    /// <summary>Per-image weighted sums into scratch (a block per image), then their mean in one block: two launches, one pass over memory.</summary>
    public void AmbientLoss(Tensor d, Tensor y, Tensor mask, Tensor weight, Tensor loss, AmbientGeometry g)
    {
        if (UseIlgpuFused) { IlgpuAmbientLoss(d, y, mask, weight, loss, g); return; }
        using var ws = new Scratch(Allocator, 4L * g.N);
        var a = new AmbientLossArgs
        {
            D = P(d), Y = P(y), Mask = P(mask), Weight = P(weight), Out = ws.Pointer,
            N = g.N, C = g.C, Cm = g.MaskChannels, Hw = g.Pixels,
        };
        Launch("ambient_fused.cu", "ambient_loss_images", (uint)Math.Clamp(g.N, 1, 65535), 1024, a);
        Launch("ambient_fused.cu", "ambient_loss_mean", 1, 1024, a with { D = ws.Pointer, Out = P(loss), Scale = 1f / g.N });
    }

    public void AmbientLossBackward(Tensor d, Tensor y, Tensor mask, Tensor weight, Tensor gLoss, Tensor gd, AmbientGeometry g)
    {
        if (UseIlgpuFused) { IlgpuAmbientLossBackward(d, y, mask, weight, gLoss, gd, g); return; }
        var a = new AmbientLossArgs
        {
            D = P(d), Y = P(y), Mask = P(mask), Weight = P(weight), GLoss = P(gLoss), Out = P(gd),
            N = g.N, C = g.C, Cm = g.MaskChannels, Hw = g.Pixels, Scale = 2f / g.N,
        };
        Launch("ambient_fused.cu", "ambient_loss_backward", ElementwiseGrid(g.ImageSize), 256, a);
    }
}
