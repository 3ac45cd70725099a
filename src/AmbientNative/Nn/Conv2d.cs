using AmbientNative.Autograd;
using AmbientNative.Tensors;

namespace AmbientNative.Nn;

/// <summary>
/// Square-kernel convolution with "same" padding (K/2) and an optional stride, "weight" [Cout, Cin, K, K] and
/// "bias" [Cout]. In gated mode (Ambient Diffusion's inpainting layers) it also owns "gate_weight" of the same
/// shape and computes conv(x, W) ⊙ sigmoid(conv(x, G)) + b. The official code applies the sigmoid twice
/// (sigmoid(sigmoid(·))); we follow the stated formula, with one.
/// </summary>
public sealed class Conv2d : Module
{
    public Conv2d(Device device, int inChannels, int outChannels, int kernel, Rng rng,
        float gain = Init.Default, int stride = 1, bool gated = false) : base(device)
    {
        InChannels = inChannels;
        OutChannels = outChannels;
        Kernel = kernel;
        Stride = stride;
        var shape = new Shape(outChannels, inChannels, kernel, kernel);
        Weight = Param("weight", shape);
        Bias = Param("bias", new Shape(outChannels));
        Gate = gated ? Param("gate_weight", shape) : null;
        // EDM's fans count the kernel window on both sides; the gate is drawn like the weight (as the official code).
        int fanIn = inChannels * kernel * kernel, fanOut = outChannels * kernel * kernel;
        Init.XavierUniform(Weight, fanIn, fanOut, gain, rng);
        if (Gate != null) Init.XavierUniform(Gate, fanIn, fanOut, gain, rng);
    }

    public int InChannels { get; }
    public int OutChannels { get; }
    public int Kernel { get; }
    public int Stride { get; }
    public Parameter Weight { get; }
    public Parameter Bias { get; }
    /// <summary>The gate's weight in gated mode, else null.</summary>
    public Parameter? Gate { get; }

    public Tensor Forward(Tensor x)
    {
        int pad = Kernel / 2;
        if (Gate == null) return Ops.Conv2d(x, Weight, Bias, Stride, pad);
        // Unfused (two convolutions, sigmoid, product, bias): a fused gated-conv kernel is a backend's job.
        var y = Ops.Conv2d(x, Weight, null, Stride, pad) * Ops.Sigmoid(Ops.Conv2d(x, Gate, null, Stride, pad));
        return y + Ops.Reshape(Bias, 1, OutChannels, 1, 1);
    }

    /// <summary>
    /// (Forward(x) + skip)·scale, a residual junction: one op when ungated (<see cref="Ops.Conv2dAddScaled"/>, the
    /// same bits as the two ops); a gated conv is followed by <see cref="Ops.AddScaled"/>.
    /// </summary>
    public Tensor ForwardAddScaled(Tensor x, Tensor skip, float scale) => Gate == null
        ? Ops.Conv2dAddScaled(x, Weight, Bias, Stride, Kernel / 2, skip, scale)
        : Ops.AddScaled(Forward(x), skip, scale);
}
