using AmbientNative.Tensors;

namespace AmbientNative.Autograd;

/// <summary>A trainable leaf tensor with a stable name (PyTorch-style, e.g. "enc.0.conv0.weight").</summary>
public sealed class Parameter : Tensor
{
    public Parameter(string name, Shape shape, Device? device = null)
        : base(shape, (device ?? Device.Cpu).Backend.Allocate(shape.Numel))
    {
        Name = name;
        RequiresGrad = true;
        Device.Backend.Fill(this, 0f);
    }

    /// <summary>Dotted path from the outermost module, PyTorch-style; modules prefix it as they are nested.</summary>
    public string Name { get; internal set; }

    /// <summary>The flat arena this parameter's values live in, or null when it has its own storage.</summary>
    public ParameterArena? Arena { get; internal set; }

    /// <summary>
    /// Where this parameter's gradient goes in its arena's flat gradient storage: backward closures write into it
    /// (<see cref="Tape.GradientBuffer"/>), and the tape copies any other first gradient of a pass into it
    /// (<see cref="Tape.Accumulate"/>). Null outside an arena. The arena owns the reference.
    /// </summary>
    internal Storage? GradSlot { get; set; }

    public override string ToString() => $"Parameter {Name} {Shape}";
}
