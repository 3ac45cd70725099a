using AmbientNative.Tensors;

namespace AmbientNative.Data;

/// <summary>
/// A built-in dataset that needs no files: each image is one shape (a disc, a square or stripes) in a bright
/// colour over a two-colour gradient background, with anti-aliased edges. Simple, low-entropy and visually
/// distinct, so a small model can memorize a few dozen of them in CPU minutes (the demo's point), and a grid
/// shows at a glance whether samples copy them. Image i depends only on (seed, i): the first k images of a
/// set of n are the set of k. Labels are the shape kind (0 disc, 1 square, 2 stripes).
/// </summary>
public static class ProceduralShapes
{
    public const int Kinds = 3;

    // Bright shape colours and dark background colours (RGB in [0, 1]); few, so the content is low-entropy.
    private static readonly (float R, float G, float B)[] Bright =
        [(0.95f, 0.25f, 0.2f), (0.2f, 0.8f, 0.3f), (0.25f, 0.45f, 0.95f), (0.95f, 0.85f, 0.2f), (0.9f, 0.3f, 0.85f), (0.3f, 0.9f, 0.9f)];
    private static readonly (float R, float G, float B)[] Dark =
        [(0.1f, 0.1f, 0.15f), (0.2f, 0.1f, 0.3f), (0.05f, 0.25f, 0.3f), (0.35f, 0.2f, 0.1f), (0.15f, 0.3f, 0.15f)];

    public static ImageDataset Generate(int count, int resolution = 32, int channels = 3, ulong seed = 0)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), $"count must be at least 1; got {count}.");
        if (resolution < 4) throw new ArgumentOutOfRangeException(nameof(resolution), $"resolution must be at least 4; got {resolution}.");
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), $"channels must be 1 or 3; got {channels}.");
        int plane = resolution * resolution, size = channels * plane;
        var images = new float[count * size];
        var labels = new int[count];
        var root = new Rng(seed);
        for (int i = 0; i < count; i++)
            labels[i] = Draw(root.Fork((ulong)i), resolution, channels, images.AsSpan(i * size, size));
        return new ImageDataset(images, count, channels, resolution, resolution, labels, source: $"procedural shapes (seed {seed})");
    }

    /// <summary>Renders one image into <paramref name="dst"/> ([C, R, R] in [−1, 1]); returns its shape kind.</summary>
    private static int Draw(Rng rng, int r, int channels, Span<float> dst)
    {
        int kind = rng.NextInt(Kinds);
        var bg0 = Dark[rng.NextInt(Dark.Length)];
        var bg1 = Dark[rng.NextInt(Dark.Length)];
        var fg = Bright[rng.NextInt(Bright.Length)];
        // Gradient direction: one of eight (horizontal, vertical, diagonal, each way).
        double angle = rng.NextInt(8) * Math.PI / 4;
        float gx = (float)Math.Cos(angle), gy = (float)Math.Sin(angle);
        // Shape geometry in pixels; kept away from the border so the whole shape shows.
        float cx = r * (0.3f + 0.4f * rng.NextFloat()), cy = r * (0.3f + 0.4f * rng.NextFloat());
        float extent = r * (0.14f + 0.14f * rng.NextFloat());
        bool vertical = rng.NextInt(2) == 0;
        float period = r / (2f + rng.NextInt(3));       // 2–4 stripes across the image
        float phase = period * rng.NextFloat();

        int plane = r * r;
        for (int y = 0; y < r; y++)
            for (int x = 0; x < r; x++)
            {
                float px = x + 0.5f, py = y + 0.5f;
                // t in [0, 1] along the gradient direction.
                float t = Math.Clamp(0.5f + ((px / r - 0.5f) * gx + (py / r - 0.5f) * gy) / 1.4143f, 0f, 1f);
                // Signed distance to the shape's edge (negative inside); coverage 1 inside, 0 outside, a 1-pixel ramp between.
                float sd = kind switch
                {
                    0 => MathF.Sqrt((px - cx) * (px - cx) + (py - cy) * (py - cy)) - extent,
                    1 => Math.Max(Math.Abs(px - cx), Math.Abs(py - cy)) - extent,
                    _ => StripeDistance(vertical ? px : py, period, phase),
                };
                float a = Math.Clamp(0.5f - sd, 0f, 1f);
                float br = Lerp(bg0.R, bg1.R, t), bgg = Lerp(bg0.G, bg1.G, t), bb = Lerp(bg0.B, bg1.B, t);
                int p = y * r + x;
                if (channels == 3)
                {
                    dst[p] = 2 * Lerp(br, fg.R, a) - 1;
                    dst[plane + p] = 2 * Lerp(bgg, fg.G, a) - 1;
                    dst[2 * plane + p] = 2 * Lerp(bb, fg.B, a) - 1;
                }
                else // grey: a bright shape (luma lifted into [0.5, 1]) so red and blue shapes stand out as well as yellow ones
                    dst[p] = 2 * Lerp(Luma(br, bgg, bb), 0.5f + 0.5f * Luma(fg.R, fg.G, fg.B), a) - 1;
            }
        return kind;
    }

    /// <summary>Signed distance to the nearest stripe: stripes fill the first half of each period.</summary>
    private static float StripeDistance(float u, float period, float phase)
    {
        float m = ((u + phase) % period + period) % period;     // position within the period
        float half = period / 2;
        return m < half ? -Math.Min(m, half - m) : Math.Min(m - half, period - m);
    }

    private static float Luma(float r, float g, float b) => 0.299f * r + 0.587f * g + 0.114f * b;

    private static float Lerp(float a, float b, float t) => a + (b - a) * t;
}
