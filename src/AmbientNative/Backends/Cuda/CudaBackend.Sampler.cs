using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cuda;

public sealed partial class CudaBackend
{
    /// <summary>
    /// Composed from the tested binary and affine kernels (4–6 launches): no fused CUDA kernel for the sampler update
    /// exists yet (the fused one is the ILGPU kernel, see Backends/Ilgpu/IlgpuSampler.cs). Sampling time is dominated
    /// by the two network evaluations per step, so this costs little; a fused kernel is on the GPU to-do list.
    /// </summary>
    public void SamplerStep(Tensor xHat, Tensor d1, Tensor? xEuler, Tensor? d2, Tensor y, double sigmaHat, double sigmaNext)
    {
        bool heun = xEuler != null;
        var (c1, c2) = SamplerRef.Coefficients(sigmaHat, sigmaNext, heun);
        using var diff = Temp(y.Shape);
        using var scaled = Temp(y.Shape);
        Binary(BinaryOp.Sub, xHat, d1, diff);
        Affine(diff, (float)c1, 0, scaled);
        if (heun)
        {
            using var scaled2 = Temp(y.Shape);
            Binary(BinaryOp.Sub, xEuler!, d2 ?? throw new ArgumentNullException(nameof(d2)), diff);
            Affine(diff, (float)c2, 0, scaled2);
            Binary(BinaryOp.Add, scaled, scaled2, diff);
            Binary(BinaryOp.Add, xHat, diff, y);
        }
        else
            Binary(BinaryOp.Add, xHat, scaled, y);
    }

    // Freed into the caching allocator in stream order, so reuse by a later launch is safe.
    private Tensor Temp(Shape shape) => new(shape, Allocate(shape.Numel));
}
