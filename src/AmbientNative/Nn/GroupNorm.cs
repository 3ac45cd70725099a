using AmbientNative.Backends;
using AmbientNative.Autograd;
using AmbientNative.Tensors;

namespace AmbientNative.Nn;

/// <summary>
/// Group normalization with EDM's group count: min(maxGroups, C / minChannelsPerGroup) (32 and 4 by default), so
/// narrow layers keep at least four channels per group. "weight" starts at 1, "bias" at 0.
/// </summary>
public sealed class GroupNorm : Module
{
    public GroupNorm(Device device, int channels, float eps, int maxGroups = 32, int minChannelsPerGroup = 4) : base(device)
    {
        Groups = GroupsFor(channels, maxGroups, minChannelsPerGroup);
        Channels = channels;
        Eps = eps;
        Weight = Param("weight", new Shape(channels));
        Bias = Param("bias", new Shape(channels));
        Init.Constant(Weight, 1f);
    }

    public int Channels { get; }
    public int Groups { get; }
    public float Eps { get; }
    public Parameter Weight { get; }
    public Parameter Bias { get; }

    /// <summary>
    /// GroupNorm(x), or SiLU(GroupNorm(x)) as one fused op when <paramref name="silu"/>; with <paramref name="shift"/>
    /// [N, C], of x + shift broadcast over the pixels (one op: the sum is never written); with
    /// <paramref name="dropout"/> (SiLU only), the output masked in the same pass.
    /// </summary>
    public Tensor Forward(Tensor x, bool silu = false, Tensor? shift = null, DropoutMask? dropout = null)
    {
        if (dropout != null && !silu) throw new ArgumentException("GroupNorm: dropout is folded only into GroupNorm + SiLU.");
        return silu ? Ops.GroupNormSilu(x, Groups, Weight, Bias, Eps, shift, dropout) : Ops.GroupNorm(x, Groups, Weight, Bias, Eps, shift);
    }

    /// <summary>EDM's rule; throws when it does not split <paramref name="channels"/> evenly.</summary>
    public static int GroupsFor(int channels, int maxGroups = 32, int minChannelsPerGroup = 4)
    {
        int groups = Math.Min(maxGroups, channels / minChannelsPerGroup);
        if (groups < 1 || channels % groups != 0)
            throw new ArgumentException(
                $"GroupNorm: {channels} channels do not split into min({maxGroups}, {channels} / {minChannelsPerGroup}) = {groups} equal groups.");
        return groups;
    }
}
