using AmbientNative.Tensors;

namespace AmbientNative.Backends;

/// <summary>
/// A residual junction folded into a convolution's output: y = (conv(x, w) + bias + <see cref="Skip"/>)·<see cref="Scale"/>,
/// with the convolution's value rounded before the add, so the bits are those of the conv followed by
/// <see cref="IBackend.AddScaled"/>. Skip has the output's shape. On the GPU the conv's epilogue does it: the
/// convolution's own output is never written, nor read back by a separate add.
/// </summary>
public readonly record struct ConvResidual(Tensor Skip, float Scale);
