using AmbientNative.Tensors;

namespace AmbientNative.Backends;

/// <summary>
/// A contiguous tensor seen as [Outer, Size, Inner] around one axis: the indexing shared by reductions along an
/// axis, concatenation and slicing. Reducing everything is the geometry [1, Numel, 1].
/// </summary>
public readonly record struct AxisGeometry(int Outer, int Size, int Inner)
{
    public int Numel => Outer * Size * Inner;

    public static AxisGeometry Of(Shape shape, int axis)
    {
        int a = shape.Axis(axis), outer = 1, inner = 1;
        for (int k = 0; k < a; k++) outer *= shape[k];
        for (int k = a + 1; k < shape.Rank; k++) inner *= shape[k];
        return new AxisGeometry(outer, shape[a], inner);
    }

    public static AxisGeometry Whole(Shape shape) => new(1, shape.Numel, 1);
}
