using AmbientNative.Tensors;

namespace AmbientNative.Backends;

public partial interface IBackend
{
    /// <summary>y = x with axes permuted: y's axis k is x's axis perm[k].</summary>
    void Permute(Tensor x, Tensor y, int[] perm);
    /// <summary>y = the parts concatenated along <paramref name="axis"/> (non-negative), in order.</summary>
    void Concat(Tensor[] parts, Tensor y, int axis);
    /// <summary>y = x[start : start + y.Shape[axis]] along <paramref name="axis"/> (non-negative).</summary>
    void Slice(Tensor x, Tensor y, int axis, int start);
    /// <summary>gx = zeros of x's shape, with gy written at [start, start + gy.Shape[axis]) along <paramref name="axis"/>.</summary>
    void SliceBackward(Tensor gy, Tensor gx, int axis, int start);
    /// <summary>
    /// gx[start, start + gy.Shape[axis]) along <paramref name="axis"/> += gy; the rest of gx is left as it is (a
    /// slice's gradient added to x's existing gradient: no full-size temporary of zeros, no full-size add).
    /// </summary>
    void SliceBackwardAdd(Tensor gy, Tensor gx, int axis, int start);
}
