namespace AmbientNative.Onnx;

/// <summary>The model-input preprocessing of <see cref="OnnxExtractorOptions"/>, as plain loops over one image.</summary>
public static class ImagePreprocessing
{
    /// <summary>
    /// One image [c, h, w] in [−1, 1] → [outC, size, size] model input. Grey (c = 1) is replicated to outC channels;
    /// otherwise c must equal outC.
    /// </summary>
    public static void Preprocess(ReadOnlySpan<float> image, int c, int h, int w, Span<float> output, int outC, int size,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> std)
    {
        if (image.Length != c * h * w || output.Length != outC * size * size)
            throw new ArgumentException($"preprocess: image of {image.Length} values for [{c}, {h}, {w}] and output of {output.Length} for [{outC}, {size}, {size}].");
        if (c != outC && c != 1)
            throw new ArgumentException($"preprocess: cannot map {c} image channels to {outC} model channels (only grey is replicated).");
        int plane = size * size;
        for (int oc = 0; oc < outC; oc++)
        {
            var dst = output.Slice(oc * plane, plane);
            ResizeBilinear(image.Slice((c == 1 ? 0 : oc) * h * w, h * w), h, w, dst, size, size);
            float m = mean[mean.Length == 1 ? 0 : oc], s = std[std.Length == 1 ? 0 : oc];
            // [−1, 1] → [0, 1] → normalised. Resizing is linear, so it commutes with this affine map.
            for (int i = 0; i < plane; i++) dst[i] = ((dst[i] + 1) * 0.5f - m) / s;
        }
    }

    /// <summary>Bilinear resize of one plane with half-pixel centres (align_corners = False); the identity when sizes match.</summary>
    public static void ResizeBilinear(ReadOnlySpan<float> src, int h, int w, Span<float> dst, int outH, int outW)
    {
        for (int y = 0; y < outH; y++)
        {
            var (y0, y1, fy) = Tap(y, h, outH);
            for (int x = 0; x < outW; x++)
            {
                var (x0, x1, fx) = Tap(x, w, outW);
                float top = src[y0 * w + x0] + fx * (src[y0 * w + x1] - src[y0 * w + x0]);
                float bottom = src[y1 * w + x0] + fx * (src[y1 * w + x1] - src[y1 * w + x0]);
                dst[y * outW + x] = top + fy * (bottom - top);
            }
        }
    }

    // Output pixel i of n samples the input (length m) at (i + ½)·m/n − ½, clamped to the first pixel at the edge.
    private static (int I0, int I1, float Frac) Tap(int i, int m, int n)
    {
        double s = Math.Max((i + 0.5) * m / n - 0.5, 0);
        int i0 = Math.Min((int)s, m - 1);
        return (i0, Math.Min(i0 + 1, m - 1), (float)(s - i0));
    }
}
