using AmbientNative.Backends;
using AmbientNative.Tensors;

namespace AmbientNative.Autograd;

public static partial class Ops
{
    /// <summary>2-D convolution with square kernel w [Cout, Cin, K, K], zero padding, optional bias [Cout].</summary>
    public static Tensor Conv2d(Tensor x, Tensor w, Tensor? bias = null, int stride = 1, int padding = 0)
    {
        var (n, cin, h, wd) = x.Shape.Nchw("conv2d input");
        var (cout, wcin, k, k2) = w.Shape.Nchw("conv2d weight");
        if (wcin != cin || k != k2)
            throw new ArgumentException($"conv2d: weight {w.Shape} does not match input {x.Shape} (need [Cout, {cin}, K, K]).");
        if (bias != null && (bias.Rank != 1 || bias.Shape[0] != cout))
            throw new ArgumentException($"conv2d: bias {bias.Shape} must be [{cout}].");
        SameDevice("conv2d", x, w);
        var g = new Conv2dGeometry(n, cin, h, wd, cout, k, stride, padding);
        g.Validate();
        var y = New(x, new Shape(n, cout, g.OutH, g.OutW));
        B(x).Conv2dForward(x, w, bias, y, g);
        Tensor[] inputs = bias == null ? [x, w] : [x, w, bias];
        return Tape.Record(y, inputs, gy =>
        {
            if (x.RequiresGrad)
            {
                var gx = NewLike(x);
                B(x).Conv2dBackwardData(gy, w, gx, g);
                Tape.Accumulate(x, gx);
            }
            if (w.RequiresGrad || (bias?.RequiresGrad ?? false))
            {
                var gw = Tape.GradientBuffer(w);
                Tensor? gb = null;
                try
                {
                    gb = bias == null ? null : Tape.GradientBuffer(bias);
                    B(x).Conv2dBackwardWeight(x, gy, gw, gb, g);
                }
                catch { gw.Dispose(); gb?.Dispose(); throw; } // a lent slot must go back, or it stays lent
                Tape.Accumulate(w, gw);
                if (bias != null) Tape.Accumulate(bias, gb!);
            }
        });
    }
}
