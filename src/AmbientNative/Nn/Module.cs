using AmbientNative.Autograd;
using AmbientNative.Tensors;

namespace AmbientNative.Nn;

/// <summary>
/// A tree of layers owning named parameters. Names follow PyTorch's state_dict convention ("enc.0.conv.weight"):
/// registering a child prefixes the names of all its parameters with the child's name, so a module's
/// parameters always carry their full path from the outermost module.
/// </summary>
public abstract class Module : IDisposable
{
    private readonly List<(string Name, Module Module)> _children = [];
    private readonly List<Parameter> _parameters = [];

    protected Module(Device device) { Device = device; }

    public Device Device { get; }

    /// <summary>Training mode enables dropout; set recursively by <see cref="Train"/>.</summary>
    public bool Training { get; private set; } = true;

    public void Train(bool training = true)
    {
        Training = training;
        foreach (var (_, m) in _children) m.Train(training);
    }

    public void Eval() => Train(false);

    protected T Child<T>(string name, T module) where T : Module
    {
        foreach (var p in module.Parameters()) p.Name = name + "." + p.Name;
        _children.Add((name, module));
        return module;
    }

    protected Parameter Param(string name, Shape shape)
    {
        var p = new Parameter(name, shape, Device);
        _parameters.Add(p);
        return p;
    }

    /// <summary>All parameters of this module and its descendants, in registration order (stable across runs).</summary>
    public IEnumerable<Parameter> Parameters()
    {
        foreach (var p in _parameters) yield return p;
        foreach (var (_, m) in _children)
            foreach (var p in m.Parameters()) yield return p;
    }

    public long ParameterCount() => Parameters().Sum(p => (long)p.Numel);

    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.ZeroGrad();
    }

    public virtual void Dispose()
    {
        foreach (var p in _parameters) p.Dispose();
        foreach (var (_, m) in _children) m.Dispose();
        GC.SuppressFinalize(this);
    }
}
