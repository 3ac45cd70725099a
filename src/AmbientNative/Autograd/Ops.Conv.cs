using AmbientNative.Backends;
using AmbientNative.Tensors;

namespace AmbientNative.Autograd;

public static partial class Ops
{
    /// <summary>2-D convolution with square kernel w [Cout, Cin, K, K], zero padding, optional bias [Cout].</summary>
    public static Tensor Conv2d(Tensor x, Tensor w, Tensor? bias = null, int stride = 1, int padding = 0)
        => Conv2dOp("conv2d", x, w, bias, stride, padding, null);

    /// <summary>
    /// (Conv2d(x, w, bias) + skip)·scale as one op, with the bits of <see cref="AddScaled"/> after
    /// <see cref="Conv2d"/>: the U-Net block's residual junctions, whose convolution output is then never written
    /// on the GPU (the conv's epilogue adds skip and scales; two passes over the output less forward). The backward
    /// forms scale·gy once and gives that one tensor to the convolution's backward and, as its gradient, to skip
    /// (AddScaled's backward writes the same values twice). The gradients have the composition's bits too, except
    /// when skip is also x or w and already holds a gradient: then its two new terms are added in the other order.
    /// </summary>
    public static Tensor Conv2dAddScaled(Tensor x, Tensor w, Tensor? bias, int stride, int padding, Tensor skip, float scale)
        => Conv2dOp("conv2d+add_scaled", x, w, bias, stride, padding, new ConvResidual(skip, scale));

    private static Tensor Conv2dOp(string op, Tensor x, Tensor w, Tensor? bias, int stride, int padding, ConvResidual? residual)
    {
        var (n, cin, h, wd) = x.Shape.Nchw($"{op} input");
        var (cout, wcin, k, k2) = w.Shape.Nchw($"{op} weight");
        if (wcin != cin || k != k2)
            throw new ArgumentException($"{op}: weight {w.Shape} does not match input {x.Shape} (need [Cout, {cin}, K, K]).");
        if (bias != null && (bias.Rank != 1 || bias.Shape[0] != cout))
            throw new ArgumentException($"{op}: bias {bias.Shape} must be [{cout}].");
        SameDevice(op, x, w);
        var g = new Conv2dGeometry(n, cin, h, wd, cout, k, stride, padding);
        g.Validate();
        var shape = new Shape(n, cout, g.OutH, g.OutW);
        var skip = residual?.Skip;
        if (residual is { } junction)
        {
            if (junction.Skip.Shape != shape)
                throw new ArgumentException($"{op}: skip {junction.Skip.Shape} must have the convolution's output shape {shape} (input {x.Shape}, weight {w.Shape}).");
            if (!float.IsFinite(junction.Scale)) throw new ArgumentException($"{op}: scale must be finite; got {junction.Scale}.");
            SameDevice(op, x, junction.Skip);
        }
        var y = New(x, shape);
        Fill(y, () => B(x).Conv2dForward(x, w, bias, y, g, residual));
        List<Tensor> inputs = [x, w];
        if (bias != null) inputs.Add(bias);
        if (skip != null) inputs.Add(skip);
        return Tape.Record(y, [.. inputs], gy =>
        {
            Tensor? scaled = null;
            try
            {
                if (residual is { } junction)
                {
                    scaled = NewLike(gy); // scale·gy: the conv output's gradient and skip's
                    B(x).AddScaledBackward(gy, junction.Scale, scaled, null);
                    gy = scaled;
                }
                ConvBackward(x, w, bias, gy, g);
            }
            catch { scaled?.Dispose(); throw; }
            // Only now: had skip (being x or w) taken `scaled` as its gradient first, the conv's own gradient of x
            // would have been added into it in place before the weight gradient read it.
            if (skip != null) Tape.Accumulate(skip, scaled!);
        });
    }

    private static void ConvBackward(Tensor x, Tensor w, Tensor? bias, Tensor gy, Conv2dGeometry g)
    {
        if (x.RequiresGrad)
        {
            var gx = NewLike(x);
            Fill(gx, () => B(x).Conv2dBackwardData(gy, w, gx, g));
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
    }
}
