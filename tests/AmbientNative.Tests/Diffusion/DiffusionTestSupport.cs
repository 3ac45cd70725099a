using AmbientNative.Autograd;
using AmbientNative.Diffusion;
using AmbientNative.Nn;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Diffusion;

/// <summary>
/// A stand-in for the U-Net: F = conv3×3(input) + bias + c_noise·v + offset, with every parameter random. The offset has
/// the full output shape, so its gradient is ∂L/∂F (the gradient w.r.t. the network output). Records what it was given.
/// </summary>
internal sealed class StandInNet : INoiseConditionedNetwork, IDisposable
{
    public StandInNet(int inChannels, int outChannels, Shape outputShape, Rng rng, Device device, float scale = 0.3f)
    {
        InChannels = inChannels;
        OutChannels = outChannels;
        Weight = Param("conv.weight", new Shape(outChannels, inChannels, 3, 3), rng, device, scale);
        Bias = Param("conv.bias", new Shape(outChannels), rng, device, scale);
        NoiseGain = Param("noise.weight", new Shape(1, outChannels, 1, 1), rng, device, scale);
        Offset = Param("offset", outputShape, rng, device, scale);
    }

    public Parameter Weight { get; }
    public Parameter Bias { get; }
    public Parameter NoiseGain { get; }
    public Parameter Offset { get; }
    public Parameter[] Parameters => [Weight, Bias, NoiseGain, Offset];

    public int InChannels { get; }
    public int OutChannels { get; }
    public int Resolution => Offset.Shape[2];
    public List<float[]> Inputs { get; } = [];
    public List<float[]> NoiseLabels { get; } = [];
    public List<float[]> Outputs { get; } = [];

    public Tensor Forward(Tensor input, Tensor noiseLabels)
    {
        Inputs.Add(input.ToArray());
        NoiseLabels.Add(noiseLabels.ToArray());
        var noise = Ops_.Reshape(noiseLabels, noiseLabels.Shape[0], 1, 1, 1) * NoiseGain;
        var f = Ops_.Conv2d(input, Weight, Bias, padding: 1) + noise + Offset;
        Outputs.Add(f.ToArray());
        return f;
    }

    public void ZeroGrad() { foreach (var p in Parameters) p.ZeroGrad(); }
    public void Dispose() { foreach (var p in Parameters) p.Dispose(); }

    private static Parameter Param(string name, Shape shape, Rng rng, Device device, float scale)
    {
        var p = new Parameter(name, shape, device);
        var v = new float[shape.Numel];
        rng.FillNormal(v, 0f, scale);
        p.Storage.CopyFrom(v);
        return p;
    }
}

/// <summary>
/// A closed-form denoiser evaluated on the host in double, pixel by pixel: D(x; σ) = f(x, σ) (test-only; the result
/// is owned by the current tape like any op output). Records the σ of every call and the last output.
/// </summary>
internal sealed class HostDenoiser(Func<double, double, double> f) : IDenoiser
{
    public List<double> Sigmas { get; } = [];
    public List<float[]> Inputs { get; } = [];
    public float[]? LastOutput { get; private set; }
    public bool RecordInputs { get; init; }

    public Tensor Denoise(Tensor x, Tensor sigma)
    {
        var xs = x.ToArray();
        var s = sigma.ToArray();
        int per = xs.Length / s.Length;
        var d = new float[xs.Length];
        for (int i = 0; i < xs.Length; i++) d[i] = (float)f(xs[i], s[i / per]);
        Sigmas.Add(s[0]);
        if (RecordInputs) Inputs.Add(xs);
        LastOutput = d;
        return Tape.Own(Tensor.FromArray(d, x.Shape, x.Device));
    }

    /// <summary>E[x0 | x] for x0 ~ N(μ, s²) and x = x0 + σ·n: (s²·x + σ²·μ) / (s² + σ²).</summary>
    public static HostDenoiser Gaussian(double mu, double s) =>
        new((x, sigma) => (s * s * x + sigma * sigma * mu) / (s * s + sigma * sigma));

    /// <summary>
    /// E[x0 | x] for the mixture Σ w_k N(m_k, s_k²): Σ_k r_k(x)·(s_k²·x + σ²·m_k)/(s_k² + σ²), with responsibilities
    /// r_k ∝ w_k·N(x; m_k, s_k² + σ²) (normalised in log space).
    /// </summary>
    public static Func<double, double, double> MixturePosteriorMean(double[] w, double[] m, double[] s) => (x, sigma) =>
    {
        int k = w.Length;
        Span<double> logR = stackalloc double[k];
        double max = double.NegativeInfinity;
        for (int j = 0; j < k; j++)
        {
            double v = s[j] * s[j] + sigma * sigma;
            logR[j] = Math.Log(w[j]) - 0.5 * Math.Log(v) - 0.5 * (x - m[j]) * (x - m[j]) / v;
            max = Math.Max(max, logR[j]);
        }
        double z = 0, num = 0;
        for (int j = 0; j < k; j++)
        {
            double r = Math.Exp(logR[j] - max), v = s[j] * s[j];
            z += r;
            num += r * (v * x + sigma * sigma * m[j]) / (v + sigma * sigma);
        }
        return num / z;
    };
}

/// <summary>Sample moments in double.</summary>
internal static class Moments
{
    public static (double Mean, double Variance) Of(ReadOnlySpan<float> v)
    {
        double mean = 0, m2 = 0;
        foreach (float x in v) mean += x;
        mean /= v.Length;
        foreach (float x in v) m2 += (x - mean) * (x - mean);
        return (mean, m2 / (v.Length - 1));
    }

    /// <summary>Pearson correlation of coordinates i and j of vectors of length <paramref name="dim"/> stored back to back.</summary>
    public static double Correlation(ReadOnlySpan<float> v, int dim, int i, int j)
    {
        int n = v.Length / dim;
        double mi = 0, mj = 0;
        for (int k = 0; k < n; k++) { mi += v[k * dim + i]; mj += v[k * dim + j]; }
        mi /= n; mj /= n;
        double cij = 0, cii = 0, cjj = 0;
        for (int k = 0; k < n; k++)
        {
            double a = v[k * dim + i] - mi, b = v[k * dim + j] - mj;
            cij += a * b; cii += a * a; cjj += b * b;
        }
        return cij / Math.Sqrt(cii * cjj);
    }
}

internal static class DiffusionTestData
{
    public static IEnumerable<Device> Devices => [Device.CpuReference, Device.Cpu];

    /// <summary>Asserts |actual − expected| ≤ rel·|expected|.</summary>
    public static void Near(double actual, double expected, double rel, string what) =>
        Assert.That(actual, Is.EqualTo(expected).Within(rel * Math.Abs(expected)), what);

    public static Tensor Uniform(Rng rng, Shape shape, Device device, float lo = -1f, float hi = 1f) =>
        Tensor.Rand(shape, rng, device, lo, hi);
}
