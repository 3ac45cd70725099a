using AmbientNative.Tensors;
using AmbientNative.Tests.Gpu;

namespace AmbientNative.Tests.Ops;

/// <summary>
/// All the ILGPU kernels together: one ambient training step of the tiny U-Net (GroupNorm+SiLU, elementwise and
/// broadcast ops, softmax, the fused attention at 8×8, the fused ambient input and loss, Adam, EMA) on ILGPU's CPU
/// accelerator against the fast CPU backend — the same harness and tolerance (1e-4) as the GPU step test, so a
/// kernel that is right alone but wrong in composition (a stale view, an unwritten output) shows here, without a GPU.
/// </summary>
public class IlgpuTrainingStepTests
{
    [Test]
    public void A_tiny_unet_ambient_training_step_on_the_ilgpu_cpu_accelerator_matches_the_fast_cpu() =>
        CudaTrainingStepTests.AssertMatches(CudaTrainingStepTests.UNetStep(Device.Cpu, n: 2), CudaTrainingStepTests.UNetStep(Device.CpuIlgpu, n: 2));
}
