using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

public partial class ReferenceBackend
{
    public virtual void Permute(Tensor x, Tensor y, int[] perm) => ShapeRef.Permute<float>(R(x), x.Shape, perm, S(y));

    public virtual void Concat(Tensor[] parts, Tensor y, int axis)
    {
        int start = 0;
        foreach (var p in parts)
        {
            var g = AxisGeometry.Of(p.Shape, axis);
            ShapeRef.Insert<float>(R(p), g, S(y), y.Shape[axis], start);
            start += g.Size;
        }
    }

    public virtual void Slice(Tensor x, Tensor y, int axis, int start) =>
        ShapeRef.Extract<float>(R(x), x.Shape[axis], start, S(y), AxisGeometry.Of(y.Shape, axis));

    public virtual void SliceBackward(Tensor gy, Tensor gx, int axis, int start)
    {
        S(gx).Clear();
        ShapeRef.Insert<float>(R(gy), AxisGeometry.Of(gy.Shape, axis), S(gx), gx.Shape[axis], start);
    }

    public virtual void SliceBackwardAdd(Tensor gy, Tensor gx, int axis, int start) =>
        ShapeRef.AddInto<float>(R(gy), AxisGeometry.Of(gy.Shape, axis), S(gx), gx.Shape[axis], start);
}
