using System.Runtime.InteropServices;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cuda;

// Argument block of kernels/groupnorm.cu: field order and types must match its struct.
[StructLayout(LayoutKind.Sequential)]
internal struct GroupNormKernelArgs
{
    public ulong X, Shift, W, B, Gy, Y, Mean, Rstd, Gx, GShift, Ws, Gw, Gb;
    public int N, C, Hw, Groups, Silu, Accumulate;
    public float Eps;
    public int Dropout;
    public ulong Seed, Counter;
    public uint Threshold;
    public float Scale;

    public GroupNormKernelArgs(GroupNormArgs g) : this()
    {
        N = g.N; C = g.C; Hw = g.HW; Groups = g.Groups; Silu = g.Silu ? 1 : 0; Accumulate = g.AccumulateGx ? 1 : 0; Eps = g.Eps;
        if (g.Dropout is { } m)
        {
            Dropout = 1; Seed = m.Seed; Counter = m.Counter;
            Threshold = DropoutRef.KeepThreshold(m.P); Scale = DropoutRef.KeepScale(m.P);
        }
    }
}

public sealed partial class CudaBackend
{
    /// <summary>One block per (sample, group): N·G blocks of 256 threads.</summary>
    public void GroupNormForward(Tensor x, Tensor? shift, Tensor? weight, Tensor? bias, Tensor y, Tensor mean, Tensor rstd,
        GroupNormArgs args)
    {
        var a = new GroupNormKernelArgs(args)
        {
            X = P(x), Shift = POpt(shift), W = POpt(weight), B = POpt(bias), Y = P(y), Mean = P(mean), Rstd = P(rstd),
        };
        Launch("groupnorm.cu", "groupnorm_forward", (uint)args.StatsSize, 256, a);
    }

    /// <summary>
    /// One block per (sample, group) computes gx and per-channel partial sums; the weight and bias gradients then add
    /// the partials over samples in order (a second, tiny launch), so no atomics are needed. Threads per block follow
    /// H·W, the length of the per-channel loops (up to 256). The shift's gradient comes from the same launch.
    /// </summary>
    public void GroupNormBackward(Tensor x, Tensor? shift, Tensor? weight, Tensor? bias, Tensor mean, Tensor rstd,
        Tensor gy, Tensor? gx, Tensor? gshift, Tensor? gweight, Tensor? gbias, GroupNormArgs args)
    {
        bool paramGrads = gweight != null || gbias != null;
        using var ws = new Scratch(Allocator, paramGrads ? 8L * args.N * args.C : 4);
        var a = new GroupNormKernelArgs(args)
        {
            X = P(x), Shift = POpt(shift), W = POpt(weight), B = POpt(bias), Gy = P(gy), Mean = P(mean), Rstd = P(rstd),
            Gx = POpt(gx), GShift = POpt(gshift),
            Ws = paramGrads ? ws.Pointer : 0, Gw = POpt(gweight), Gb = POpt(gbias),
        };
        uint threads = (uint)Math.Clamp((args.HW + 31) / 32 * 32, 64, 256);
        Launch("groupnorm.cu", "groupnorm_backward", (uint)args.StatsSize, threads, a);
        if (paramGrads) Launch("groupnorm.cu", "groupnorm_param_grad", (uint)((args.C + 31) / 32), 256, a); // 32 channels × 8 sample slices per block
    }
}
