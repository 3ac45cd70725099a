using AmbientNative.Autograd;
using AmbientNative.Tensors;

namespace AmbientNative.Nn;

/// <summary>
/// DDPM++'s sinusoidal noise embedding (EDM's PositionalEmbedding with endpoint = true, then its sin/cos swap):
/// for labels c [N] and half = Channels / 2, e[n] = [sin(c_n·f_0 … c_n·f_{half−1}), cos(same)] with
/// f_j = (1 / maxPositions)^(j / (half − 1)), so frequencies run from 1 down to exactly 1/maxPositions.
/// No parameters and no gradient (the labels are data). Computed on the host: the labels are N numbers.
/// </summary>
public sealed class PositionalEmbedding
{
    public PositionalEmbedding(int channels, int maxPositions = 10000)
    {
        if (channels < 4 || channels % 2 != 0)
            throw new ArgumentException($"PositionalEmbedding: channels must be even and at least 4; got {channels}.");
        Channels = channels;
        MaxPositions = maxPositions;
    }

    public int Channels { get; }
    public int MaxPositions { get; }

    /// <summary>[N] → [N, Channels], on the labels' device; owned by the current tape, like an op output.</summary>
    public Tensor Forward(Tensor labels)
    {
        if (labels.Rank != 1)
            throw new ArgumentException($"PositionalEmbedding: noise labels must be 1-D [N]; got shape {labels.Shape}.");
        int n = labels.Shape[0], half = Channels / 2;
        var c = labels.ToArray();
        var e = new float[n * Channels];
        for (int j = 0; j < half; j++)
        {
            double f = Math.Pow(1.0 / MaxPositions, (double)j / (half - 1));
            for (int i = 0; i < n; i++)
            {
                double a = c[i] * f;
                e[i * Channels + j] = (float)Math.Sin(a);
                e[i * Channels + half + j] = (float)Math.Cos(a);
            }
        }
        return Tape.Own(Tensor.FromArray(e, new Shape(n, Channels), labels.Device));
    }
}
