using AmbientNative.Tensors;

namespace AmbientNative.Backends;

/// <summary>
/// A residual junction folded into a convolution's output: y = (conv(x, w) + bias + <see cref="Skip"/>)·<see cref="Scale"/>,
/// with the convolution's value rounded before the add, so the bits are those of the conv followed by
/// <see cref="IBackend.AddScaled"/>. Skip has the output's shape. On the GPU the conv's epilogue does it: the
/// convolution's own output is never written, nor read back by a separate add.
/// </summary>
public readonly record struct ConvResidual(Tensor Skip, float Scale)
{
    /// <summary>
    /// Skip, when it has y's size and is not y itself (a backend that adds it after the convolution would then add the
    /// convolution to itself, where one that adds it in the epilogue reads the old values).
    /// </summary>
    internal static Tensor Checked(Tensor skip, Tensor y)
    {
        if (skip.Numel != y.Numel)
            throw new ArgumentException($"Conv2dForward: the residual {skip.Shape} must have the output's size {y.Shape}.");
        if (ReferenceEquals(skip.Storage, y.Storage))
            throw new ArgumentException($"Conv2dForward: the residual must not be the output tensor itself ({y.Shape}).");
        return skip;
    }
}
