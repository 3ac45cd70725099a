using AmbientNative.Backends;
using AmbientNative.Autograd;
using AmbientNative.Tensors;

namespace AmbientNative.Nn;

public enum Resample { None, Down, Up }

/// <summary>
/// EDM's DDPM++ residual block (SongUNet's UNetBlock with adaptive_scale = false, resample_proj = true), with
/// optional self-attention after it:
/// <code>
/// h = conv0(SiLU(norm0(x)))                     conv0 resamples (below)
/// h = conv1(dropout(SiLU(norm1(h + affine(emb)))))
/// x = (h + skip(x)) · √½                        skip: 1×1 conv when channels change or the block resamples
/// x = (proj(attention(qkv(norm2(x)))) + x) · √½ attention blocks only
/// </code>
/// Fusions keep tensors of the block's size from being written and re-read: h + affine(emb) is norm1's shift
/// (GroupNorm normalizes the sum as it reads h) and the dropout after it is applied as norm1 writes its output; each
/// residual junction (conv(·) + skip)·√½ is part of its convolution (Conv2d.ForwardAddScaled: on the GPU, the conv's
/// epilogue), so conv1's and proj's own outputs are never written.
/// Resampling departs from EDM as the issue asks. Down: conv0 is a 3×3 convolution with stride 2 (padding 1), where
/// EDM averages 2×2 then convolves. Up: nearest ×2 then the 3×3 conv0, which is what EDM's [1,1] filter does too.
/// The skip resamples the EDM way, then applies its 1×1 conv: 2×2 average pooling for Down (keeps all four pixels,
/// where a stride-2 1×1 conv would read only one of them), nearest ×2 for Up. A PyTorch mirror is:
/// Down: conv0 = Conv2d(3, stride = 2, padding = 1), skip = conv1x1(avg_pool2d(x, 2));
/// Up: conv0 = conv3x3(interpolate(x, 2, 'nearest')), skip = conv1x1(interpolate(x, 2, 'nearest')).
/// </summary>
public sealed class UNetBlock : Module
{
    private static readonly float SkipScale = MathF.Sqrt(0.5f);
    private readonly float _dropout;

    public UNetBlock(UNetConfig config, int inChannels, int outChannels, Resample resample, bool attention,
        Device device, Rng rng) : base(device)
    {
        InChannels = inChannels;
        OutChannels = outChannels;
        Resample = resample;
        _dropout = config.Dropout;
        bool gated = config.GatedConvolutions;
        GroupNorm Norm(int c) => new(device, c, UNetConfig.NormEps, config.GroupNormMaxGroups, config.GroupNormMinChannelsPerGroup);

        // Registration order is EDM's, so the parameter list reads like its state_dict.
        Norm0 = Child("norm0", Norm(inChannels));
        Conv0 = Child("conv0", new Conv2d(device, inChannels, outChannels, 3, rng,
            stride: resample == Resample.Down ? 2 : 1, gated: gated));
        Affine = Child("affine", new Linear(device, config.EmbeddingChannels, outChannels, rng));
        Norm1 = Child("norm1", Norm(outChannels));
        Conv1 = Child("conv1", new Conv2d(device, outChannels, outChannels, 3, rng, Init.Zero, gated: gated));
        if (inChannels != outChannels || resample != Resample.None)
            Skip = Child("skip", new Conv2d(device, inChannels, outChannels, 1, rng, gated: gated));
        if (attention)
        {
            Norm2 = Child("norm2", Norm(outChannels));
            Qkv = Child("qkv", new Conv2d(device, outChannels, 3 * outChannels, 1, rng, Init.Attention, gated: gated));
            Proj = Child("proj", new Conv2d(device, outChannels, outChannels, 1, rng, Init.Zero, gated: gated));
        }
    }

    public int InChannels { get; }
    public int OutChannels { get; }
    public Resample Resample { get; }
    public bool HasAttention => Qkv != null;

    public GroupNorm Norm0 { get; }
    public Conv2d Conv0 { get; }
    public Linear Affine { get; }
    public GroupNorm Norm1 { get; }
    public Conv2d Conv1 { get; }
    public Conv2d? Skip { get; }
    public GroupNorm? Norm2 { get; }
    public Conv2d? Qkv { get; }
    public Conv2d? Proj { get; }

    /// <summary>x [N, In, H, W], emb [N, E] → [N, Out, H', W']; dropout masks come from <paramref name="dropoutRng"/>.</summary>
    public Tensor Forward(Tensor x, Tensor emb, Rng dropoutRng)
    {
        var (_, c, _, _) = x.Shape.Nchw("UNetBlock input");
        if (c != InChannels)
            throw new ArgumentException($"UNetBlock: input {x.Shape} has {c} channels; this block takes {InChannels}.");

        var h = Norm0.Forward(x, silu: true);
        if (Resample == Resample.Up) h = Ops.Upsample2x(h);
        h = Conv0.Forward(h);
        // dropout(SiLU(norm1(h + affine(emb)))) in one op: neither the sum nor the undropped output is written.
        var mask = DropoutMask.Draw(_dropout, dropoutRng, Training, h.Numel);
        h = Norm1.Forward(h, silu: true, shift: Affine.Forward(emb), dropout: mask);

        var s = Resample switch
        {
            Resample.Down => Ops.AvgPool2x(x),
            Resample.Up => Ops.Upsample2x(x),
            _ => x,
        };
        if (Skip != null) s = Skip.Forward(s);
        x = Conv1.ForwardAddScaled(h, s, SkipScale);

        if (Qkv == null) return x;
        var a = Attention.Forward(Qkv.Forward(Norm2!.Forward(x)));
        return Proj!.ForwardAddScaled(a, x, SkipScale);
    }
}
