using AmbientNative.Tensors;

namespace AmbientNative.Diffusion.Corruption;

/// <summary>
/// The masks of one C×H×W image: A (what the dataset observes) and Ã = B ⊙ A (what the network is shown), as float
/// 0/1 (1 = observed). Plain loops on host spans: this is the specification a GPU kernel would be checked against.
/// </summary>
public static class CorruptionMasks
{
    /// <summary>
    /// Draws A and Ã for one image from <paramref name="rng"/> into <paramref name="a"/> and <paramref name="aTilde"/>
    /// ([C,H,W], fully overwritten). A shared mask is drawn once and copied to every channel.
    /// </summary>
    public static void Generate(CorruptionSpec spec, Rng rng, int channels, int height, int width, Span<float> a, Span<float> aTilde)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(rng);
        spec.Validate();
        CheckImageDims(channels, height, width);
        int plane = height * width, size = channels * plane;
        if (a.Length != size || aTilde.Length != size)
            throw new ArgumentException($"CorruptionMasks.Generate: masks for a {channels}×{height}×{width} image need {size} elements each, got A {a.Length} and Ã {aTilde.Length}.");

        // Draw only the planes that are independent; a shared mask lives in plane 0 until it is copied below.
        int drawn = spec.MaskChannels(channels) * plane;
        Span<float> a0 = a[..drawn], t0 = aTilde[..drawn];
        switch (spec.Kind)
        {
            case CorruptionKind.None:
            case CorruptionKind.GaussianNoise:
                a0.Fill(1f);
                t0.Fill(1f);
                break;
            case CorruptionKind.PixelErase:
                double p = spec.P, delta = spec.Delta;
                for (int i = 0; i < drawn; i++) a0[i] = rng.NextFloat() < p ? 0f : 1f;
                for (int i = 0; i < drawn; i++) t0[i] = delta > 0 && rng.NextFloat() < delta ? 0f : a0[i];
                break;
            case CorruptionKind.Box:
            case CorruptionKind.FixedBox:
                a0.Fill(1f);
                EraseRandomBox(spec, rng, height, width, a0);
                a0.CopyTo(t0);
                if (spec.Delta > 0) EraseRandomBox(spec, rng, height, width, t0);
                break;
        }
        for (int c = drawn / plane; c < channels; c++)
        {
            a[..plane].CopyTo(a.Slice(c * plane, plane));
            aTilde[..plane].CopyTo(aTilde.Slice(c * plane, plane));
        }
    }

    /// <summary>Box height and width for the box kinds; (0, 0) otherwise.</summary>
    public static (int Rows, int Cols) BoxSize(CorruptionSpec spec, int height, int width) => spec.Kind switch
    {
        CorruptionKind.Box => (CeilTimes(spec.P, height), CeilTimes(spec.P, width)),
        CorruptionKind.FixedBox => (FloorTimes(spec.P, height), FloorTimes(spec.P, width)),
        _ => (0, 0),
    };

    /// <summary>
    /// Expected fraction of pixels kept by A and by Ã for an H×W image. PixelErase: (1 − p) and (1 − p)(1 − δ). Box kinds,
    /// exactly, from the probability q(r, c) = q_row(r)·q_col(c) that a uniformly placed box covers a pixel:
    /// A keeps 1 − mean(q); Ã keeps mean((1 − q)²), both boxes being independent.
    /// </summary>
    public static (double A, double ATilde) ExpectedKeptFraction(CorruptionSpec spec, int height, int width)
    {
        spec.Validate();
        CheckImageDims(1, height, width);
        switch (spec.Kind)
        {
            case CorruptionKind.PixelErase:
                return (1 - spec.P, (1 - spec.P) * (1 - spec.Delta));
            case CorruptionKind.Box:
            case CorruptionKind.FixedBox:
                var (rows, cols) = BoxSize(spec, height, width);
                var (qr, qr2) = CoverageMoments(spec.Kind, height, rows);
                var (qc, qc2) = CoverageMoments(spec.Kind, width, cols);
                double keptA = 1 - qr * qc;
                return (keptA, spec.Delta > 0 ? 1 - 2 * qr * qc + qr2 * qc2 : keptA);
            default:
                return (1, 1);
        }
    }

    // Mean over positions x of q(x) and q(x)², q(x) = P(a box of side s with uniform start covers x) along one axis.
    private static (double Mean, double MeanSq) CoverageMoments(CorruptionKind kind, int n, int s)
    {
        int starts = BoxStarts(kind, n, s);
        double sum = 0, sumSq = 0;
        for (int x = 0; x < n; x++)
        {
            int covering = Math.Max(0, Math.Min(x, starts - 1) - Math.Max(0, x - s + 1) + 1);
            double q = (double)covering / starts;
            sum += q; sumSq += q * q;
        }
        return (sum / n, sumSq / n);
    }

    // Box: the corner is uniform over the whole image and the box is clipped; FixedBox: every corner that keeps it inside.
    private static int BoxStarts(CorruptionKind kind, int n, int s) => kind == CorruptionKind.Box ? n : n - s + 1;

    private static void EraseRandomBox(CorruptionSpec spec, Rng rng, int height, int width, Span<float> plane)
    {
        var (rows, cols) = BoxSize(spec, height, width);
        int r0 = rng.NextInt(BoxStarts(spec.Kind, height, rows));
        int c0 = rng.NextInt(BoxStarts(spec.Kind, width, cols));
        for (int r = r0; r < Math.Min(r0 + rows, height); r++)
            plane.Slice(r * width + c0, Math.Min(cols, width - c0)).Clear();
    }

    // p·n in double can land a hair off an integer (0.07·100 = 7.000000000000001, 0.29·100 = 28.999999999999996);
    // snap those before rounding so a box of 7 % of 100 pixels is 7 pixels, not 8.
    private static int CeilTimes(double p, int n) => (int)Math.Ceiling(p * n - 1e-9);
    private static int FloorTimes(double p, int n) => (int)Math.Floor(p * n + 1e-9);

    internal static void CheckImageDims(int channels, int height, int width)
    {
        if (channels <= 0 || height <= 0 || width <= 0)
            throw new ArgumentException($"Image shape {channels}×{height}×{width} must have positive channels, height and width.");
    }
}
