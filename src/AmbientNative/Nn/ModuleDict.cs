using AmbientNative.Tensors;

namespace AmbientNative.Nn;

/// <summary>
/// A named container of modules, like torch.nn.ModuleDict: it adds one path segment ("enc", "dec") to the names.
/// Fill it before registering it as a child, because a module's parameter names are prefixed when it is registered.
/// </summary>
public sealed class ModuleDict(Device device) : Module(device)
{
    public T Add<T>(string name, T module) where T : Module => Child(name, module);
}
