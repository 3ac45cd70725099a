using System.Runtime.CompilerServices;

namespace AmbientNative.Backends.Cpu.Fast;

/// <summary>
/// im2col and its adjoint for one image of a convolution (layouts as in <see cref="Reference.Conv2dRef"/>).
/// The column matrix has one row per (ci, ky, kx), index (ci − c0)·K² + ky·K + kx, and one column per output
/// position j = oy·OutW + ox:
/// <c>col[row, j − j0] = x[ci, oy·stride − pad + ky, ox·stride − pad + kx]</c>, zero outside the image.
/// A convolution is then W[Cout, Cin·K²] · col. With stride 1 each row of col is made of shifted copies of image
/// rows, so it is written with vector copies; other strides gather element by element.
/// </summary>
public static unsafe class Im2Col
{
    /// <summary>Writes rows for channels [c0, c1) and columns [j0, j1) into col ((c1−c0)·K² × (j1−j0), row-major).</summary>
    public static void Unfold(ReadOnlySpan<float> image, Conv2dGeometry g, int c0, int c1, int j0, int j1, Span<float> col)
    {
        CheckImage(image.Length, g, c0, c1, j0, j1);
        if (col.Length < (long)(c1 - c0) * g.K * g.K * (j1 - j0))
            throw new ArgumentException($"im2col: col has {col.Length} elements, need {(c1 - c0) * g.K * g.K}×{j1 - j0}.");
        fixed (float* x = image, c = col) Unfold(x, g, c0, c1, j0, j1, c);
    }

    /// <summary>col2im, the adjoint of <see cref="Unfold"/>: image[c0..c1) += fold(col) for col holding columns
    /// [j0, j1). Each image pixel receives the sum of every column entry that was copied from it.</summary>
    public static void FoldAdd(ReadOnlySpan<float> col, Conv2dGeometry g, int c0, int c1, int j0, int j1, Span<float> image)
    {
        CheckImage(image.Length, g, c0, c1, j0, j1);
        if (col.Length < (long)(c1 - c0) * g.K * g.K * (j1 - j0))
            throw new ArgumentException($"col2im: col has {col.Length} elements, need {(c1 - c0) * g.K * g.K}×{j1 - j0}.");
        fixed (float* c = col, x = image) FoldAdd(c, g, c0, c1, j0, j1, x);
    }

    private static void CheckImage(int length, Conv2dGeometry g, int c0, int c1, int j0, int j1)
    {
        g.Validate();
        if (length < g.Cin * g.H * g.W)
            throw new ArgumentException($"im2col: image has {length} elements, need {g.Cin}×{g.H}×{g.W}.");
        if (c0 < 0 || c1 > g.Cin || c0 > c1 || j0 < 0 || j1 > g.OutH * g.OutW || j0 > j1)
            throw new ArgumentOutOfRangeException(nameof(c0), $"im2col: channels [{c0}, {c1}) or columns [{j0}, {j1}) outside {g}.");
    }

    internal static void Unfold(float* image, in Conv2dGeometry g, int c0, int c1, int j0, int j1, float* col)
    {
        int n = j1 - j0;
        for (int ci = c0; ci < c1; ci++)
        for (int ky = 0; ky < g.K; ky++)
        for (int kx = 0; kx < g.K; kx++, col += n)
            Row(image + (nint)ci * g.H * g.W, g, ky, kx, j0, n, col);
    }

    internal static void FoldAdd(float* col, in Conv2dGeometry g, int c0, int c1, int j0, int j1, float* image)
    {
        int n = j1 - j0;
        for (int ci = c0; ci < c1; ci++)
        for (int ky = 0; ky < g.K; ky++)
        for (int kx = 0; kx < g.K; kx++, col += n)
            AddRow(col, g, ky, kx, j0, n, image + (nint)ci * g.H * g.W);
    }

    /// <summary>One row of col for kernel offset (ky, kx) of one channel <paramref name="plane"/> (H×W):
    /// columns [j0, j0 + count) into dst. Walks output rows; each is one clipped, shifted copy of an input row.</summary>
    internal static void Row(float* plane, in Conv2dGeometry g, int ky, int kx, int j0, int count, float* dst)
    {
        int ow = g.OutW, s = g.Stride;
        int oy = j0 / ow, ox = j0 - oy * ow;
        if (s == 1 && ox == 0 && count % ow == 0)
        {
            // Whole output rows at stride 1: every run has the same clipping, computed once.
            int ix = kx - g.Pad, lo = Math.Clamp(-ix, 0, ow), hi = Math.Clamp(g.W - ix, lo, ow);
            for (int iy = oy - g.Pad + ky, end = iy + count / ow; iy < end; iy++, dst += ow)
            {
                if ((uint)iy >= (uint)g.H) { Packing.ZeroRun(dst, ow); continue; }
                for (int t = 0; t < lo; t++) dst[t] = 0f;
                Packing.CopyRun(plane + (nint)iy * g.W + ix + lo, dst + lo, hi - lo);
                for (int t = hi; t < ow; t++) dst[t] = 0f;
            }
            return;
        }
        while (count > 0)
        {
            int run = Math.Min(count, ow - ox);
            int iy = oy * s - g.Pad + ky;
            if ((uint)iy >= (uint)g.H) Packing.ZeroRun(dst, run);
            else
            {
                float* src = plane + (nint)iy * g.W;
                int ix = ox * s - g.Pad + kx; // input column under the run's first output
                if (s == 1)
                {
                    // Outputs t in [lo, hi) of the run read inside the row; the rest is padding.
                    int lo = Math.Clamp(-ix, 0, run), hi = Math.Clamp(g.W - ix, lo, run);
                    Packing.ZeroRun(dst, lo);
                    Packing.CopyRun(src + ix + lo, dst + lo, hi - lo);
                    Packing.ZeroRun(dst + hi, run - hi);
                }
                else
                    for (int t = 0; t < run; t++, ix += s) dst[t] = (uint)ix < (uint)g.W ? src[ix] : 0f;
            }
            dst += run; count -= run; oy++; ox = 0;
        }
    }

    /// <summary>The adjoint of <see cref="Row"/>: adds src (columns [j0, j0 + count) of one col row) back into the plane.</summary>
    private static void AddRow(float* src, in Conv2dGeometry g, int ky, int kx, int j0, int count, float* plane)
    {
        int ow = g.OutW, s = g.Stride;
        int oy = j0 / ow, ox = j0 - oy * ow;
        if (s == 1 && ox == 0 && count % ow == 0)
        {
            // Whole output rows at stride 1: every run has the same clipping, computed once.
            int ix = kx - g.Pad, lo = Math.Clamp(-ix, 0, ow), hi = Math.Clamp(g.W - ix, lo, ow);
            for (int iy = oy - g.Pad + ky, end = iy + count / ow; iy < end; iy++, src += ow)
                if ((uint)iy < (uint)g.H) Packing.AddRun(src + lo, plane + (nint)iy * g.W + ix + lo, hi - lo);
            return;
        }
        while (count > 0)
        {
            int run = Math.Min(count, ow - ox);
            int iy = oy * s - g.Pad + ky;
            if ((uint)iy < (uint)g.H)
            {
                float* dst = plane + (nint)iy * g.W;
                int ix = ox * s - g.Pad + kx;
                if (s == 1)
                {
                    int lo = Math.Clamp(-ix, 0, run), hi = Math.Clamp(g.W - ix, lo, run);
                    Packing.AddRun(src + lo, dst + ix + lo, hi - lo);
                }
                else
                    for (int t = 0; t < run; t++, ix += s)
                        if ((uint)ix < (uint)g.W) dst[ix] += src[t];
            }
            src += run; count -= run; oy++; ox = 0;
        }
    }
}

/// <summary>
/// op(B) of the forward convolution packed straight from the image (implicit im2col): B[p, j] = col[p, jBase + j]
/// of one image, all channels. Saves writing the column matrix (K² times the image) and reading it back.
/// Row p = Cin·K², if asked for, is all ones: paired with <see cref="WeightWithBiasA"/> it adds the bias.
/// </summary>
internal readonly unsafe struct Im2ColB(float* image, Conv2dGeometry g, int jBase) : IPackB
{
    private readonly Conv2dGeometry _g = g;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public float* Pack(int p0, int kc, int j0, int nc, int nr, float* buf)
    {
        int k = _g.K, kk = k * k, plane = _g.H * _g.W, ow = _g.OutW;
        // A panel row is nr contiguous floats: col row p over the panel's columns. Panel by panel, p inner, so
        // the image rows a panel reads (a few per channel) are reused from L1 across the K² kernel offsets.
        for (int jr = 0; jr < nc; jr += nr)
        {
            float* panel = buf + (nint)jr * kc;
            int cols = Math.Min(nr, nc - jr), j = jBase + j0 + jr, oy = j / ow, ox = j - oy * ow;
            int ci = p0 / kk, ky = (p0 - ci * kk) / k, kx = p0 - ci * kk - ky * k;
            // Common case: stride 1 and the panel inside one output row, so each panel row is one shifted
            // copy of an image row, clipped only at the borders.
            bool oneRun = _g.Stride == 1 && cols == nr && ox + nr <= ow;
            for (int p = 0; p < kc; p++, panel += nr)
            {
                float* src = image + (nint)ci * plane;
                if (ci == _g.Cin)
                {
                    for (int t = 0; t < nr; t++) panel[t] = t < cols ? 1f : 0f;
                }
                else if (oneRun)
                {
                    int iy = oy - _g.Pad + ky, ix = ox - _g.Pad + kx;
                    if ((uint)iy >= (uint)_g.H) Packing.ZeroRun(panel, nr);
                    else
                    {
                        // Lanes [lo, hi) read inside the image row, the rest is padding.
                        int lo = Math.Clamp(-ix, 0, nr), hi = Math.Clamp(_g.W - ix, lo, nr);
                        Packing.ZeroRun(panel, lo);
                        Packing.CopyRun(src + (nint)iy * _g.W + ix + lo, panel + lo, hi - lo);
                        Packing.ZeroRun(panel + hi, nr - hi);
                    }
                }
                else
                {
                    Im2Col.Row(src, _g, ky, kx, j, cols, panel);
                    for (int t = cols; t < nr; t++) panel[t] = 0f;
                }
                if (++kx == k) { kx = 0; if (++ky == k) { ky = 0; ci++; } }
            }
        }
        return buf;
    }
}

/// <summary>
/// op(B) of the weight gradient, from a channels-last copy of a block of <paramref name="cb"/> input channels of
/// one image (xT[iy·W + ix, c]): B[p, q] for output position p and q = (ky·K + kx)·cb + c. Ordering the
/// gradient's columns (ky, kx, c) instead of (c, ky, kx) makes each panel row a few contiguous runs of channels
/// of single input pixels (one run when cb is a multiple of the panel width), copied instead of gathered: the
/// transposition is paid once per image block in xT, not K² times over in the column matrix.
/// </summary>
internal readonly unsafe struct ChannelsLastB(float* xT, Conv2dGeometry g, int cb) : IPackB
{
    private readonly Conv2dGeometry _g = g;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public float* Pack(int p0, int kc, int j0, int nc, int nr, float* buf)
    {
        // A panel's columns split into runs of one kernel tap each; the split is the same for every row p.
        int* runTap = stackalloc int[nr], runC = stackalloc int[nr], runLen = stackalloc int[nr];
        int ow = _g.OutW, s = _g.Stride;
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr), runs = 0;
            for (int t = 0, q = j0 + jr; t < cols; runs++)
            {
                int tap = q / cb, c = q - tap * cb, len = Math.Min(cols - t, cb - c);
                runTap[runs] = tap; runC[runs] = c; runLen[runs] = len;
                t += len; q += len;
            }
            float* d = buf + (nint)jr * kc;
            int oy = p0 / ow, ox = p0 - oy * ow;
            for (int p = 0; p < kc; p++, d += nr)
            {
                float* dr = d;
                for (int r = 0; r < runs; r++)
                {
                    int ky = runTap[r] / _g.K, kx = runTap[r] - ky * _g.K;
                    int iy = oy * s - _g.Pad + ky, ix = ox * s - _g.Pad + kx;
                    if ((uint)iy < (uint)_g.H && (uint)ix < (uint)_g.W)
                        Packing.CopyRun(xT + ((nint)iy * _g.W + ix) * cb + runC[r], dr, runLen[r]);
                    else
                        Packing.ZeroRun(dr, runLen[r]);
                    dr += runLen[r];
                }
                for (int t = cols; t < nr; t++) d[t] = 0f;
                if (++ox == ow) { ox = 0; oy++; }
            }
        }
        return buf;
    }
}
