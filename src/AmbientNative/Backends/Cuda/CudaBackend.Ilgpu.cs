using AmbientNative.Backends.Ilgpu;
using AmbientNative.Tensors;
using ILGPU;

namespace AmbientNative.Backends.Cuda;

/// <summary>
/// Which kernels run on CUDA where both exist: the fused ambient input and loss, the Tweedie loss and the noise draw
/// (CUDA C or ILGPU; ILGPU's noise is float32 Box–Muller, close to, not equal to, the host stream's, CUDA C's is its
/// double-precision formula), and, only with Ilgpu, the fused attention (CUDA C: <see cref="CudaBackend.FusedAttention"/>)
/// and the fused sampler update (CUDA C: the binary/affine composition).
/// </summary>
public enum FusedKernelSource
{
    /// <summary>kernels/ambient_fused.cu and tweedie_fused.cu, compiled by NVRTC (the default).</summary>
    CudaC,
    /// <summary>The C# kernels of Backends/Ilgpu/IlgpuAmbientFused.cs and IlgpuTweedieFused.cs, compiled by ILGPU: needs a device in ILGPU's context.</summary>
    Ilgpu,
}

public sealed partial class CudaBackend
{
    private IlgpuAmbientFused? _ilgpuFused;
    private IlgpuTweedieFused? _ilgpuTweedie;
    private FusedKernelSource _fusedKernels;

    /// <summary>ILGPU's runtime when this backend runs in ILGPU's context (<see cref="CudaDevices.CreateInIlgpuContext"/>), else null.</summary>
    internal IlgpuRuntime? Ilgpu { get; init; }

    /// <summary>
    /// Selects the fused ambient and Tweedie kernels: hand-written CUDA C or the ILGPU C# twins, so the two can be compared on the
    /// same op, tensors and stream. Ilgpu needs a backend created in ILGPU's context.
    /// </summary>
    public FusedKernelSource FusedKernels
    {
        get => _fusedKernels;
        set
        {
            if (value == FusedKernelSource.Ilgpu && Ilgpu == null)
                throw new InvalidOperationException(
                    $"{Device}: ILGPU kernels need the device in ILGPU's context (CudaDevices.CreateInIlgpuContext or AMBIENT_CUDA_CONTEXT=ilgpu).");
            _fusedKernels = value;
        }
    }

    private bool UseIlgpuFused => _fusedKernels == FusedKernelSource.Ilgpu;

    private IlgpuAmbientFused IlgpuFused => _ilgpuFused ??= new IlgpuAmbientFused(Ilgpu!);

    private IlgpuTweedieFused IlgpuTweedie => _ilgpuTweedie ??= new IlgpuTweedieFused(Ilgpu!);

    /// <summary>A tensor of this backend as an ILGPU view of the same device memory.</summary>
    private ArrayView<float> IlgpuView(Tensor t) => ExternalDeviceBuffer.View(Ilgpu!.Accelerator, P(t), t.Numel);

    private ArrayView<float> IlgpuView(ulong pointer, int length) => ExternalDeviceBuffer.View(Ilgpu!.Accelerator, pointer, length);

    // ILGPU launches on its default stream, which is ours (borrowed), so ordering with our kernels is kept.
    private void IlgpuAmbientInput(Tensor y, Tensor noise, Tensor sigma, Tensor mask, Tensor masked, Tensor input, AmbientGeometry g, float sigmaData)
    {
        Context.MakeCurrent();
        IlgpuFused.Input(new(IlgpuView(y), IlgpuView(noise), IlgpuView(sigma), IlgpuView(mask), IlgpuView(masked), IlgpuView(input)), g, sigmaData);
        Launches++;
    }

    private void IlgpuAmbientLoss(Tensor d, Tensor y, Tensor mask, Tensor weight, Tensor loss, AmbientGeometry g)
    {
        Context.MakeCurrent();
        using var ws = new Scratch(Allocator, 4L * g.N);
        IlgpuFused.Loss(IlgpuView(d), IlgpuView(y), IlgpuView(mask), IlgpuView(weight), IlgpuView(ws.Pointer, g.N), IlgpuView(loss), g);
        Launches += 2;
    }

    private void IlgpuAmbientLossBackward(Tensor d, Tensor y, Tensor mask, Tensor weight, Tensor gLoss, Tensor gd, AmbientGeometry g)
    {
        Context.MakeCurrent();
        IlgpuFused.LossBackward(IlgpuView(d), IlgpuView(y), IlgpuView(mask), IlgpuView(weight), IlgpuView(gLoss), IlgpuView(gd), g);
        Launches++;
    }

    private void IlgpuTweedieLoss(Tensor d, Tensor xt, Tensor xtn, Tensor coefficients, Tensor loss, TweedieGeometry g)
    {
        Context.MakeCurrent();
        using var ws = new Scratch(Allocator, 4L * g.N);
        IlgpuTweedie.Loss(new(IlgpuView(d), IlgpuView(xt), IlgpuView(xtn), IlgpuView(coefficients), default), IlgpuView(ws.Pointer, g.N), IlgpuView(loss), g);
        Launches += 2;
    }

    private void IlgpuTweedieLossBackward(Tensor d, Tensor xt, Tensor xtn, Tensor coefficients, Tensor gLoss, Tensor gd, TweedieGeometry g)
    {
        Context.MakeCurrent();
        IlgpuTweedie.LossBackward(new(IlgpuView(d), IlgpuView(xt), IlgpuView(xtn), IlgpuView(coefficients), IlgpuView(gd)), IlgpuView(gLoss), g);
        Launches++;
    }
}
