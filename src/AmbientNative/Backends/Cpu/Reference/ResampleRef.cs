using System.Numerics;

namespace AmbientNative.Backends.Cpu.Reference;

/// <summary>
/// Factor-2 resampling of image planes (x is [planes, H, W] with planes = N·C): nearest-neighbour upsampling to
/// [planes, 2H, 2W], and 2×2 average pooling with stride 2 to [planes, H/2, W/2]. As in PyTorch's
/// avg_pool2d(x, 2), odd sizes round down: the last row (or column) of an odd H (or W) is not pooled and gets a
/// zero gradient.
/// </summary>
public static class ResampleRef
{
    public static void Upsample2x<T>(ReadOnlySpan<T> x, Span<T> y, int planes, int h, int w)
        where T : IFloatingPointIeee754<T>
    {
        for (int p = 0; p < planes; p++)
        for (int oy = 0; oy < 2 * h; oy++)
        for (int ox = 0; ox < 2 * w; ox++)
            y[(p * 2 * h + oy) * 2 * w + ox] = x[(p * h + oy / 2) * w + ox / 2];
    }

    /// <summary>gx = each input pixel's gradient: the sum over the 2×2 block it was copied to.</summary>
    public static void Upsample2xBackward<T>(ReadOnlySpan<T> gy, Span<T> gx, int planes, int h, int w)
        where T : IFloatingPointIeee754<T>
    {
        gx.Clear();
        for (int p = 0; p < planes; p++)
        for (int oy = 0; oy < 2 * h; oy++)
        for (int ox = 0; ox < 2 * w; ox++)
            gx[(p * h + oy / 2) * w + ox / 2] += gy[(p * 2 * h + oy) * 2 * w + ox];
    }

    /// <param name="h">Input height; the output has h / 2 rows (rounded down).</param>
    public static void AvgPool2x<T>(ReadOnlySpan<T> x, Span<T> y, int planes, int h, int w)
        where T : IFloatingPointIeee754<T>
    {
        int oh = h / 2, ow = w / 2;
        T quarter = T.CreateChecked(0.25);
        for (int p = 0; p < planes; p++)
        for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
        {
            int i = (p * h + 2 * oy) * w + 2 * ox;
            y[(p * oh + oy) * ow + ox] = quarter * (x[i] + x[i + 1] + x[i + w] + x[i + w + 1]);
        }
    }

    /// <summary>gx = gy/4 spread over each pooled 2×2 block; zero on a dropped odd last row or column.</summary>
    public static void AvgPool2xBackward<T>(ReadOnlySpan<T> gy, Span<T> gx, int planes, int h, int w)
        where T : IFloatingPointIeee754<T>
    {
        gx.Clear();
        int oh = h / 2, ow = w / 2;
        T quarter = T.CreateChecked(0.25);
        for (int p = 0; p < planes; p++)
        for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
        {
            T d = quarter * gy[(p * oh + oy) * ow + ox];
            int i = (p * h + 2 * oy) * w + 2 * ox;
            gx[i] = d; gx[i + 1] = d; gx[i + w] = d; gx[i + w + 1] = d;
        }
    }
}
