using AmbientNative.Backends.Cuda;
using AmbientNative.Backends.Cuda.Native;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Gpu;

/// <summary>
/// common.cuh's TF32 helpers on their own: one warp loads A (16×8), B (8×8) and C (16×8) into fragments by the layout
/// the conv kernels assume (PTX ISA, "Matrix Fragments for mma.m16n8k8", .tf32) and writes D = A·B + C back by it; and
/// ldmatrix's word-per-lane layout, which the conv kernels read those fragments with. On a GPU this checks those
/// assumptions against the hardware; on the CUDA emulator, the emulator's model of it.
/// </summary>
[Category("Gpu")]
public unsafe class CudaMmaTests
{
    private const string Source = """
        #include "common.cuh"
        struct MmaArgs { const float* a; const float* b; const float* c; float* d; float* rounded; };
        struct LdArgs { const float* x; float* out; };
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
        // 32 rows of 4 words in shared memory; lane l points ldmatrix at row (13 l + 5) % 32, so a model that ignored
        // which lane gave which row address would read the wrong rows.
        extern "C" __global__ void ldmatrix_layout(LdArgs p)
        {
            __shared__ __align__(16) float rows[32][4];
            const int lane = threadIdx.x;
            for (int i = 0; i < 4; ++i) rows[lane][i] = p.x[lane * 4 + i];
            __syncthreads();
            unsigned r[4];
            an_ldmatrix_x4(r, rows[(13 * lane + 5) & 31]);
            for (int j = 0; j < 4; ++j) p.out[lane * 4 + j] = __uint_as_float(r[j]);
        }
        """;

    private struct MmaArgs { public ulong A, B, C, D, Rounded; }
    private struct LdArgs { public ulong X, Out; }

    [Test]
    public void Ldmatrix_x4_gives_each_lane_the_documented_words()
    {
        var be = Gpu.Backend();
        if (be.Context.Info.Major < 8) Assert.Ignore($"common.cuh's ldmatrix needs sm_80; the device is {be.Context.Info.Arch}");
        var x = Gpu.F32(Rand.Normal(Rand.ForTest(), 128));
        using var tx = Gpu.Upload(x, new Shape(32, 4), be.Device);
        using var tout = Gpu.Poisoned(new Shape(32, 4), be.Device);
        var module = Load(be);
        try
        {
            var f = CudaDriver.ModuleGetFunction(module, "ldmatrix_layout");
            var args = new LdArgs { X = be.P(tx), Out = be.P(tout) };
            void* p = &args;
            CudaDriver.LaunchKernel(f, (1, 1, 1), (32, 1, 1), 0, be.Context.Stream, &p, "ldmatrix_layout");
            // Lane l receives, from matrix j, word l % 4 of its row l / 4, whose address lane 8 j + l / 4 gave.
            var got = tout.ToArray();
            for (int lane = 0; lane < 32; lane++)
                for (int j = 0; j < 4; j++)
                {
                    int row = (13 * (8 * j + lane / 4) + 5) & 31;
                    Assert.That(got[lane * 4 + j], Is.EqualTo((float)x[row * 4 + lane % 4]), $"lane {lane}, matrix {j}");
                }
        }
        finally { CudaDriver.ModuleUnload(module); }
    }

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

        var module = Load(be);
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

    private static IntPtr Load(CudaBackend be)
    {
        var image = Nvrtc.Compile("mma_layout.cu", Source, KernelSources.Headers(), CudaModules.Options(be.Context.Info.Arch), cubin: true).Image;
        be.Context.MakeCurrent();
        return CudaDriver.ModuleLoadData(image, "mma_layout.cu");
    }

    private static float RoundTf32(float x)
    {
        uint u = BitConverter.SingleToUInt32Bits(x);
        if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0x1000u) & 0xffffe000u;
        return BitConverter.UInt32BitsToSingle(u);
    }
}
