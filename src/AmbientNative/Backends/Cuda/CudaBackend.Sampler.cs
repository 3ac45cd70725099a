using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Backends.Ilgpu;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cuda;

public sealed partial class CudaBackend
{
    /// <summary>
    /// With the ILGPU kernels selected (<see cref="FusedKernels"/> = Ilgpu), the fused ILGPU update (one pass,
    /// Backends/Ilgpu/IlgpuSampler.cs); otherwise composed from the tested binary and affine kernels (4–6 launches): no
    /// CUDA C sampler kernel is written. Sampling time is dominated by the two network evaluations per step, so the
    /// composition costs little.
    /// </summary>
    public void SamplerStep(Tensor xHat, Tensor d1, Tensor? xEuler, Tensor? d2, Tensor y, double sigmaHat, double sigmaNext)
    {
        bool heun = xEuler != null;
        if (heun && d2 == null) throw new ArgumentNullException(nameof(d2), "SamplerStep: the Heun correction needs D₂ with x_E.");
        if (UseIlgpuFused)
        {
            Context.MakeCurrent();
            // Euler reads neither x_E nor D₂; x̂ stands in so the kernel always gets valid views.
            IlgpuSamplerKernels.Step(new(IlgpuView(xHat), IlgpuView(d1), IlgpuView(xEuler ?? xHat), IlgpuView(d2 ?? xHat), IlgpuView(y)),
                heun, sigmaHat, sigmaNext);
            Launches++;
            return;
        }
        var (c1, c2) = SamplerRef.Coefficients(sigmaHat, sigmaNext, heun);
        using var diff = Temp(y.Shape);
        using var scaled = Temp(y.Shape);
        Binary(BinaryOp.Sub, xHat, d1, diff);
        Affine(diff, (float)c1, 0, scaled);
        if (heun)
        {
            using var scaled2 = Temp(y.Shape);
            Binary(BinaryOp.Sub, xEuler!, d2!, diff);
            Affine(diff, (float)c2, 0, scaled2);
            Binary(BinaryOp.Add, scaled, scaled2, diff);
            Binary(BinaryOp.Add, xHat, diff, y);
        }
        else
            Binary(BinaryOp.Add, xHat, scaled, y);
    }

    private IlgpuSampler? _ilgpuSampler;
    private IlgpuSampler IlgpuSamplerKernels => _ilgpuSampler ??= new IlgpuSampler(Ilgpu!);

    // Freed into the caching allocator in stream order, so reuse by a later launch is safe.
    private Tensor Temp(Shape shape) => new(shape, Allocate(shape.Numel));
}
