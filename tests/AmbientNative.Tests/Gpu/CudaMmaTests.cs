using AmbientNative.Backends.Cuda;
using AmbientNative.Backends.Cuda.Native;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Gpu;

/// <summary>
/// common.cuh's TF32 helpers on their own: one warp loads A (16×8), B (8×8) and C (16×8) into fragments by the layout
/// the conv kernels assume (PTX ISA, "Matrix Fragments for mma.m16n8k8", .tf32) and writes D = A·B + C back by it. On a
/// GPU this checks that assumption against the tensor cores; on the CUDA emulator, the emulator's model of them.
/// </summary>
[Category("Gpu")]
public unsafe class CudaMmaTests
{
    private const string Source = """
        #include "common.cuh"
        struct MmaArgs { const float* a; const float* b; const float* c; float* d; float* rounded; };
        extern "C" __global__ void mma_layout(MmaArgs p)
        {
            const int lane = threadIdx.x, g = lane >> 2, t = lane & 3;
            const unsigned a[4] = {__float_as_uint(an_cvt_tf32(p.a[g * 8 + t])), __float_as_uint(an_cvt_tf32(p.a[(g + 8) * 8 + t])),
                                   __float_as_uint(an_cvt_tf32(p.a[g * 8 + t + 4])), __float_as_uint(an_cvt_tf32(p.a[(g + 8) * 8 + t + 4]))};
            const unsigned b[2] = {__float_as_uint(an_cvt_tf32(p.b[t * 8 + g])), __float_as_uint(an_cvt_tf32(p.b[(t + 4) * 8 + g]))};
            float d[4] = {p.c[g * 8 + 2 * t], p.c[g * 8 + 2 * t + 1], p.c[(g + 8) * 8 + 2 * t], p.c[(g + 8) * 8 + 2 * t + 1]};
            an_mma_tf32(d, a, b);
            p.d[g * 8 + 2 * t] = d[0]; p.d[g * 8 + 2 * t + 1] = d[1];
            p.d[(g + 8) * 8 + 2 * t] = d[2]; p.d[(g + 8) * 8 + 2 * t + 1] = d[3];
            for (int i = lane; i < 128; i += 32) p.rounded[i] = an_cvt_tf32(p.a[i]);
        }
        """;

    private struct MmaArgs { public ulong A, B, C, D, Rounded; }

    [Test]
    public void Mma_tf32_follows_the_documented_fragment_layout()
    {
        var be = Gpu.Backend();
        if (be.Context.Info.Major < 8) Assert.Ignore($"TF32 tensor cores need sm_80; the device is {be.Context.Info.Arch}");
        var rng = Rand.ForTest();
        double[] a = Gpu.F32(Rand.Normal(rng, 128)), b = Gpu.F32(Rand.Normal(rng, 64)), c = Gpu.F32(Rand.Normal(rng, 128));
        using var ta = Gpu.Upload(a, new Shape(16, 8), be.Device);
        using var tb = Gpu.Upload(b, new Shape(8, 8), be.Device);
        using var tc = Gpu.Upload(c, new Shape(16, 8), be.Device);
        using var td = Gpu.Poisoned(new Shape(16, 8), be.Device);
        using var rounded = Gpu.Poisoned(new Shape(16, 8), be.Device);

        var image = Nvrtc.Compile("mma_layout.cu", Source, KernelSources.Headers(), CudaModules.Options(be.Context.Info.Arch), cubin: true).Image;
        be.Context.MakeCurrent();
        var module = CudaDriver.ModuleLoadData(image, "mma_layout.cu");
        try
        {
            var f = CudaDriver.ModuleGetFunction(module, "mma_layout");
            var args = new MmaArgs { A = be.P(ta), B = be.P(tb), C = be.P(tc), D = be.P(td), Rounded = be.P(rounded) };
            void* p = &args;
            CudaDriver.LaunchKernel(f, (1, 1, 1), (32, 1, 1), 0, be.Context.Stream, &p, "mma_layout");

            // cvt.rna.tf32: the nearest value with 10 mantissa bits, ties away from zero.
            var r = rounded.ToArray();
            for (int i = 0; i < 128; i++)
                Assert.That(r[i], Is.EqualTo(RoundTf32((float)a[i])), $"cvt.rna.tf32 of {a[i]:R}");

            // D = A·B + C on the rounded inputs, in float64: only the fp32 accumulation separates the two.
            var expected = new double[128];
            for (int m = 0; m < 16; m++)
                for (int n = 0; n < 8; n++)
                {
                    double s = c[m * 8 + n];
                    for (int k = 0; k < 8; k++) s += (double)RoundTf32((float)a[m * 8 + k]) * RoundTf32((float)b[k * 8 + n]);
                    expected[m * 8 + n] = s;
                }
            Check.Close(td.ToArray(), expected, 1e-5, "mma.m16n8k8 tf32");
        }
        finally { CudaDriver.ModuleUnload(module); }
    }

    private static float RoundTf32(float x)
    {
        uint u = BitConverter.SingleToUInt32Bits(x);
        if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0x1000u) & 0xffffe000u;
        return BitConverter.UInt32BitsToSingle(u);
    }
}
