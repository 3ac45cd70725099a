using AmbientNative.Autograd;
using AmbientNative.Tensors;

namespace AmbientNative.Nn;

/// <summary>y = x·Wᵀ + b with x [N, In], "weight" [Out, In], "bias" [Out]; EDM's xavier_uniform init, zero bias.</summary>
public sealed class Linear : Module
{
    public Linear(Device device, int inFeatures, int outFeatures, Rng rng, float gain = Init.Default) : base(device)
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = Param("weight", new Shape(outFeatures, inFeatures));
        Bias = Param("bias", new Shape(outFeatures));
        Init.XavierUniform(Weight, inFeatures, outFeatures, gain, rng);
    }

    public int InFeatures { get; }
    public int OutFeatures { get; }
    public Parameter Weight { get; }
    public Parameter Bias { get; }

    public Tensor Forward(Tensor x) => Ops.Linear(x, Weight, Bias);
}
