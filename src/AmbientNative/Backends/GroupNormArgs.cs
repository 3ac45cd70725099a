namespace AmbientNative.Backends;

/// <summary>
/// Group normalization of x [N, C, H, W] (HW = H·W) in <see cref="Groups"/> groups of C / Groups channels, with
/// SiLU applied to the result when <see cref="Silu"/> (the fused GN → SiLU of the U-Net's residual blocks). With
/// <see cref="AccumulateGx"/> the backward adds x's gradient to gx (which holds an earlier one) instead of overwriting
/// it: x already has a gradient from another consumer, and the sum then needs no temporary tensor or separate add.
/// With <see cref="Dropout"/>, the forward writes the output masked (element i of y as <see cref="DropoutMask"/>
/// says): GroupNorm → SiLU → dropout in one pass on the GPU (the CPU backends mask the output in place afterwards: a second
/// pass, saving only the separate tensor). The backward ignores it: its gy is the gradient of the output before
/// dropout (the op masks the incoming gradient first).
/// </summary>
public readonly record struct GroupNormArgs(int N, int C, int HW, int Groups, float Eps, bool Silu = false, bool AccumulateGx = false,
    DropoutMask? Dropout = null)
{
    public int ChannelsPerGroup => C / Groups;
    /// <summary>Elements normalized together: one group of one sample, contiguous in NCHW.</summary>
    public int GroupSize => ChannelsPerGroup * HW;
    public int Size => N * C * HW;
    /// <summary>Length of the saved statistics (mean and 1/σ), laid out [N, Groups].</summary>
    public int StatsSize => N * Groups;
}
