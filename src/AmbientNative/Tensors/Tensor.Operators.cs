using AmbientNative.Autograd;

namespace AmbientNative.Tensors;

/// <summary>
/// Arithmetic operators as shorthand for <see cref="Ops"/>: tensors broadcast as in <see cref="Ops.Binary"/>, and each
/// operator is one recorded op (owned by the current tape, like any op output). There is deliberately no
/// float / Tensor: it would take two ops, leaving an intermediate nobody owns outside a tape.
/// </summary>
public partial class Tensor
{
    public static Tensor operator +(Tensor a, Tensor b) => Ops.Add(a, b);
    public static Tensor operator -(Tensor a, Tensor b) => Ops.Sub(a, b);
    public static Tensor operator *(Tensor a, Tensor b) => Ops.Mul(a, b);
    public static Tensor operator /(Tensor a, Tensor b) => Ops.Div(a, b);
    public static Tensor operator -(Tensor a) => Ops.Neg(a);

    public static Tensor operator +(Tensor a, float s) => Ops.AddScalar(a, s);
    public static Tensor operator +(float s, Tensor a) => Ops.AddScalar(a, s);
    public static Tensor operator -(Tensor a, float s) => Ops.AddScalar(a, -s);
    public static Tensor operator -(float s, Tensor a) => Ops.Affine(a, -1f, s);
    public static Tensor operator *(Tensor a, float s) => Ops.MulScalar(a, s);
    public static Tensor operator *(float s, Tensor a) => Ops.MulScalar(a, s);
    /// <summary>Multiplies by the float 1/s (within one rounding of true division).</summary>
    public static Tensor operator /(Tensor a, float s) => Ops.MulScalar(a, 1f / s);
}
