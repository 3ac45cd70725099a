using System.Numerics;

namespace AmbientNative.Backends.Cpu.Reference;

/// <summary>
/// Direct 2-D convolution (cross-correlation, as in PyTorch) with zero padding. Layouts: x [N,Cin,H,W],
/// w [Cout,Cin,K,K], bias [Cout] (empty span = no bias), y [N,Cout,OutH,OutW].
/// </summary>
public static class Conv2dRef
{
    public static void Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> bias, Span<T> y, Conv2dGeometry g)
        where T : IFloatingPointIeee754<T>
    {
        int oh = g.OutH, ow = g.OutW, k = g.K;
        for (int n = 0; n < g.N; n++)
        for (int co = 0; co < g.Cout; co++)
        for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
        {
            T acc = bias.IsEmpty ? T.Zero : bias[co];
            for (int ci = 0; ci < g.Cin; ci++)
            for (int ky = 0; ky < k; ky++)
            {
                int iy = oy * g.Stride - g.Pad + ky;
                if ((uint)iy >= (uint)g.H) continue;
                for (int kx = 0; kx < k; kx++)
                {
                    int ix = ox * g.Stride - g.Pad + kx;
                    if ((uint)ix >= (uint)g.W) continue;
                    acc += x[((n * g.Cin + ci) * g.H + iy) * g.W + ix] * w[((co * g.Cin + ci) * k + ky) * k + kx];
                }
            }
            y[((n * g.Cout + co) * oh + oy) * ow + ox] = acc;
        }
    }

    /// <summary>gx = ∂L/∂x given gy = ∂L/∂y: scatters each output gradient back through the window.</summary>
    public static void BackwardData<T>(ReadOnlySpan<T> gy, ReadOnlySpan<T> w, Span<T> gx, Conv2dGeometry g)
        where T : IFloatingPointIeee754<T>
    {
        gx.Clear();
        int oh = g.OutH, ow = g.OutW, k = g.K;
        for (int n = 0; n < g.N; n++)
        for (int co = 0; co < g.Cout; co++)
        for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
        {
            T d = gy[((n * g.Cout + co) * oh + oy) * ow + ox];
            for (int ci = 0; ci < g.Cin; ci++)
            for (int ky = 0; ky < k; ky++)
            {
                int iy = oy * g.Stride - g.Pad + ky;
                if ((uint)iy >= (uint)g.H) continue;
                for (int kx = 0; kx < k; kx++)
                {
                    int ix = ox * g.Stride - g.Pad + kx;
                    if ((uint)ix >= (uint)g.W) continue;
                    gx[((n * g.Cin + ci) * g.H + iy) * g.W + ix] += d * w[((co * g.Cin + ci) * k + ky) * k + kx];
                }
            }
        }
    }

    /// <summary>gw = ∂L/∂w and gbias = ∂L/∂bias (skipped when the span is empty).</summary>
    public static void BackwardWeight<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> gy, Span<T> gw, Span<T> gbias, Conv2dGeometry g)
        where T : IFloatingPointIeee754<T>
    {
        gw.Clear();
        gbias.Clear();
        int oh = g.OutH, ow = g.OutW, k = g.K;
        for (int n = 0; n < g.N; n++)
        for (int co = 0; co < g.Cout; co++)
        for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
        {
            T d = gy[((n * g.Cout + co) * oh + oy) * ow + ox];
            if (!gbias.IsEmpty) gbias[co] += d;
            for (int ci = 0; ci < g.Cin; ci++)
            for (int ky = 0; ky < k; ky++)
            {
                int iy = oy * g.Stride - g.Pad + ky;
                if ((uint)iy >= (uint)g.H) continue;
                for (int kx = 0; kx < k; kx++)
                {
                    int ix = ox * g.Stride - g.Pad + kx;
                    if ((uint)ix >= (uint)g.W) continue;
                    gw[((co * g.Cin + ci) * k + ky) * k + kx] += d * x[((n * g.Cin + ci) * g.H + iy) * g.W + ix];
                }
            }
        }
    }
}
