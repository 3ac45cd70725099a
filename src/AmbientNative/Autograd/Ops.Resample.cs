using AmbientNative.Tensors;

namespace AmbientNative.Autograd;

public static partial class Ops
{
    /// <summary>Nearest-neighbour upsampling by 2: x [N, C, H, W] → [N, C, 2H, 2W].</summary>
    public static Tensor Upsample2x(Tensor x)
    {
        var (n, c, h, w) = x.Shape.Nchw("upsample2x input");
        var y = New(x, new Shape(n, c, 2 * h, 2 * w));
        B(x).Upsample2x(x, y);
        return Tape.Record(y, [x], gy =>
        {
            var gx = NewLike(x);
            B(x).Upsample2xBackward(gy, gx);
            Tape.Accumulate(x, gx);
        });
    }

    /// <summary>
    /// 2×2 average pooling with stride 2: x [N, C, H, W] → [N, C, ⌊H/2⌋, ⌊W/2⌋]. Like PyTorch's avg_pool2d(x, 2),
    /// an odd last row or column is dropped (and gets a zero gradient); H and W must be at least 2.
    /// </summary>
    public static Tensor AvgPool2x(Tensor x)
    {
        var (n, c, h, w) = x.Shape.Nchw("avgpool2x input");
        if (h < 2 || w < 2)
            throw new ArgumentException($"avgpool2x: input {x.Shape} is smaller than the 2×2 window (H and W must be at least 2).");
        var y = New(x, new Shape(n, c, h / 2, w / 2));
        B(x).AvgPool2x(x, y);
        return Tape.Record(y, [x], gy =>
        {
            var gx = NewLike(x);
            B(x).AvgPool2xBackward(gy, gx);
            Tape.Accumulate(x, gx);
        });
    }
}
