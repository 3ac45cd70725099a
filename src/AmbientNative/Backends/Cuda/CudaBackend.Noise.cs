using AmbientNative.Backends.Cpu;
using AmbientNative.Backends.Ilgpu;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cuda;

public sealed partial class CudaBackend
{
    private IlgpuNoise? _ilgpuNoise;
    private float[] _noiseHost = [];

    /// <summary>
    /// With the ILGPU kernels selected (<see cref="FusedKernels"/> = Ilgpu), drawn on the device by the ILGPU kernel;
    /// otherwise drawn on the host by every core (the fast CPU backend's code, so the values are the reference's) and
    /// uploaded. No CUDA C noise kernel is written.
    /// </summary>
    public void FillNormal(Tensor y, ulong seed, ulong counter)
    {
        if (UseIlgpuFused)
        {
            Context.MakeCurrent();
            (_ilgpuNoise ??= new IlgpuNoise(Ilgpu!)).Fill(IlgpuView(y), seed, counter);
            Launches++;
            return;
        }
        if (_noiseHost.Length < y.Numel) _noiseHost = new float[y.Numel]; // grow-only: no 3 MB allocation per step
        FastCpuBackend.FillNormalParallel(_noiseHost, y.Numel, seed, counter);
        y.Storage.CopyFrom(_noiseHost.AsSpan(0, y.Numel));
    }
}
