using AmbientNative.Tensors;

namespace AmbientNative.Nn;

/// <summary>
/// The raw network F of EDM: knows nothing of σ-scaling. Input [N, InChannels, H, W] (image channels, then any
/// mask channels), noise labels c_noise [N]; output [N, OutChannels, H, W]. Preconditioning wraps it.
/// </summary>
public interface INoiseConditionedNetwork
{
    int InChannels { get; }
    int OutChannels { get; }
    int Resolution { get; }
    Tensor Forward(Tensor input, Tensor noiseLabels);
}
