using AmbientNative.Autograd;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Training;

/// <summary>Parameters with given values and gradients, for the optimizer tests.</summary>
internal static class TrainingTestData
{
    public static Parameter Param(string name, double[] values, Device device, int[]? shape = null)
    {
        var p = new Parameter(name, new Shape(shape ?? [values.Length]), device);
        p.Storage.CopyFrom(Check.ToFloat(values));
        return p;
    }

    /// <summary>Replaces the parameter's gradient (as a backward pass would leave it).</summary>
    public static void SetGrad(Parameter p, double[] grad)
    {
        p.ZeroGrad();
        p.Grad = Tensor.FromArray(Check.ToFloat(grad), p.Shape, p.Device);
    }

    public static IEnumerable<Device> Devices => [Device.CpuReference, Device.Cpu];
}
