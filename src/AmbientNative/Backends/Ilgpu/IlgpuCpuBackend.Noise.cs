using AmbientNative.Tensors;

namespace AmbientNative.Backends.Ilgpu;

public sealed partial class IlgpuCpuBackend
{
    private IlgpuNoise? _noise;
    internal IlgpuNoise NoiseKernels => _noise ??= new IlgpuNoise(_runtime);

    public override void FillNormal(Tensor y, ulong seed, ulong counter)
    {
        using var vy = V(y);
        NoiseKernels.Fill(vy.View, seed, counter);
        Sync();
    }
}
