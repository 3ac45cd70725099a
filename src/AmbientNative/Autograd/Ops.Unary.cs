using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Autograd;

public static partial class Ops
{
    public static Tensor Unary(UnaryOp op, Tensor x)
    {
        var y = NewLike(x);
        B(x).Unary(op, x, y);
        return Tape.Record(y, [x], gy =>
        {
            var gx = NewLike(x);
            B(x).UnaryBackward(op, x, y, gy, gx);
            Tape.Accumulate(x, gx);
        });
    }

    public static Tensor Silu(Tensor x) => Unary(UnaryOp.Silu, x);
    public static Tensor Sigmoid(Tensor x) => Unary(UnaryOp.Sigmoid, x);
    public static Tensor Exp(Tensor x) => Unary(UnaryOp.Exp, x);
    public static Tensor Log(Tensor x) => Unary(UnaryOp.Log, x);
    public static Tensor Sqrt(Tensor x) => Unary(UnaryOp.Sqrt, x);
    public static Tensor Square(Tensor x) => Unary(UnaryOp.Square, x);
    public static Tensor Neg(Tensor x) => Unary(UnaryOp.Neg, x);
}
