using AmbientNative.Tensors;

namespace AmbientNative.Nn;

/// <summary>
/// A network that draws random numbers in its forward pass (dropout). The trainer saves this generator's state in
/// each checkpoint and puts it back on resume, so the masks after a resume are the ones an uninterrupted run draws.
/// </summary>
public interface IStochasticModule
{
    Rng DropoutRng { get; set; }
}
