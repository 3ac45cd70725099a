using AmbientNative.Backends;
using AmbientNative.Tensors;

namespace AmbientNative.Autograd;

public static partial class Ops
{
    private static readonly Shape ScalarShape = new(Array.Empty<int>());

    /// <summary>Sum of all elements as a rank-0 tensor (shape [], one element, read with Item()), as in PyTorch.</summary>
    public static Tensor Sum(Tensor x) => Reduce(x, AxisGeometry.Whole(x.Shape), ScalarShape, 1f);

    /// <summary>Mean of all elements as a rank-0 tensor (shape []).</summary>
    public static Tensor Mean(Tensor x) => Reduce(x, AxisGeometry.Whole(x.Shape), ScalarShape, 1f / x.Numel);

    /// <summary>Sum along <paramref name="axis"/> (negative counts from the end); keepDim leaves it as size 1.</summary>
    public static Tensor Sum(Tensor x, int axis, bool keepDim = false)
    {
        var g = AxisGeometry.Of(x.Shape, axis);
        return Reduce(x, g, Reduced(x.Shape, axis, keepDim), 1f);
    }

    /// <summary>Mean along <paramref name="axis"/> (negative counts from the end); keepDim leaves it as size 1.</summary>
    public static Tensor Mean(Tensor x, int axis, bool keepDim = false)
    {
        var g = AxisGeometry.Of(x.Shape, axis);
        return Reduce(x, g, Reduced(x.Shape, axis, keepDim), 1f / g.Size);
    }

    private static Tensor Reduce(Tensor x, AxisGeometry g, Shape shape, float scale)
    {
        var y = New(x, shape);
        B(x).Sum(x, y, g, scale);
        return Tape.Record(y, [x], gy =>
        {
            var gx = NewLike(x);
            B(x).SumBackward(gy, gx, g, scale);
            Tape.Accumulate(x, gx);
        });
    }

    private static Shape Reduced(Shape s, int axis, bool keepDim)
    {
        int a = s.Axis(axis);
        var dims = s.ToArray().ToList();
        if (keepDim) dims[a] = 1; else dims.RemoveAt(a);
        return new Shape([.. dims]);
    }

    /// <summary>Softmax over the last dimension (numerically stable).</summary>
    public static Tensor Softmax(Tensor x)
    {
        if (x.Rank == 0) throw new ArgumentException($"softmax: needs at least one dimension; got shape {x.Shape}.");
        var y = NewLike(x);
        B(x).Softmax(x, y);
        return Tape.Record(y, [x], gy =>
        {
            var gx = NewLike(x);
            B(x).SoftmaxBackward(y, gy, gx);
            Tape.Accumulate(x, gx);
        });
    }
}
