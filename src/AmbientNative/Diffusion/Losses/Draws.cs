using AmbientNative.Autograd;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Diffusion.Losses;

/// <summary>
/// The host side of a training step's randomness, shared by the objectives: per-sample σ drawn from the seeded
/// <see cref="Rng"/> (all σ first, then the noise, in sample order), per-sample scalars and noise copied to the
/// batch's device (the noise drawn there). Every tensor made here is owned by the current tape. Host buffers are
/// reused between steps.
/// </summary>
internal sealed class Draws
{
    private float[] _scalars = [];

    /// <summary>σ_i = max(exp(N(pMean, pStd²)), floor) for i &lt; n.</summary>
    public static double[] Sigmas(int n, Rng rng, double pMean, double pStd, double floor = 0)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var s = new double[n];
        for (int i = 0; i < n; i++) s[i] = Edm.SampleTrainingSigma(rng, pMean, pStd, floor);
        return s;
    }

    /// <summary>
    /// Standard normal noise of <paramref name="shape"/>, drawn by <paramref name="device"/>'s backend from whole blocks
    /// (Seed, Counter …) of <paramref name="rng"/>, which then skips them (<see cref="NormalRef"/>), without a
    /// single-threaded host loop and an upload per step. Words left in the generator's buffer are dropped: after an odd
    /// number of σ draws (two words each) that is half a block, so for an odd batch the noise differs from what a host
    /// FillNormal would have drawn (for an even batch it is the same, bit for bit).
    /// </summary>
    public Tensor Noise(Shape shape, Rng rng, Device device)
    {
        var noise = Tape.Own(Tensor.Empty(shape, device));
        device.Backend.FillNormal(noise, rng.Seed, rng.Counter);
        rng.Advance(NormalRef.Blocks(shape.Numel));
        return noise;
    }

    /// <summary>f(v_i) per sample as [N] (<paramref name="image"/> false) or [N, 1, 1, 1] (broadcasts over C, H, W).</summary>
    public Tensor PerSample(ReadOnlySpan<double> v, Func<double, double> f, Device device, bool image = true)
    {
        var host = Buffer(ref _scalars, v.Length);
        for (int i = 0; i < v.Length; i++) host[i] = (float)f(v[i]);
        var shape = image ? new Shape(v.Length, 1, 1, 1) : new Shape(v.Length);
        return Tape.Own(Tensor.FromArray(host, shape, device));
    }

    /// <summary>Per-sample rows [N, k]: row i holds f₀(v_i), …, f_{k−1}(v_i) (one upload for several per-image scalars).</summary>
    public Tensor PerSampleRows(ReadOnlySpan<double> v, Device device, params Func<double, double>[] f)
    {
        var host = Buffer(ref _scalars, v.Length * f.Length);
        for (int i = 0; i < v.Length; i++)
            for (int j = 0; j < f.Length; j++) host[i * f.Length + j] = (float)f[j](v[i]);
        return Tape.Own(Tensor.FromArray(host, new Shape(v.Length, f.Length), device));
    }

    // Grow-only host buffers: sizes vary (the consistency term's sub-batch), allocations should not.
    private static Span<float> Buffer(ref float[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new float[length];
        return buffer.AsSpan(0, length);
    }

    /// <summary>Σ_i w_i·‖err_i‖² / N: squared error summed over pixels, weighted per sample, averaged over the batch.</summary>
    public static Tensor WeightedSquaredError(Tensor err, Tensor weight) =>
        Ops.Sum(weight * Ops.Square(err)) * (1f / err.Shape[0]);

    /// <summary>Checks the objective runs inside a tape (which owns the loss) and that the batch and σ/noise fit.</summary>
    public static void Check(string objective, TrainingBatch batch, ReadOnlySpan<double> sigma, Tensor noise)
    {
        ArgumentNullException.ThrowIfNull(noise);
        Check(objective, batch, sigma);
        var y = batch.Observed;
        if (noise.Shape != y.Shape)
            throw new ArgumentException($"{objective}: noise {noise.Shape} must have the shape of the observed batch {y.Shape}.");
        Ops.SameDevice(objective, y, noise);
    }

    /// <summary>Checks the objective runs inside a tape (which owns the loss) and that the batch and σ fit.</summary>
    public static void Check(string objective, TrainingBatch batch, ReadOnlySpan<double> sigma)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (Tape.Current == null)
            throw new InvalidOperationException($"{objective}: call inside a Tape scope; it owns the loss and its intermediates.");
        var y = batch.Observed;
        y.Shape.Nchw($"{objective}: observed batch");
        if (sigma.Length != y.Shape[0])
            throw new ArgumentException($"{objective}: {sigma.Length} noise levels for a batch of {y.Shape[0]} ({y.Shape}).");
        foreach (double s in sigma)
            if (!(s > 0 && double.IsFinite(s)))
                throw new ArgumentException($"{objective}: noise level {s} is not a finite positive σ.");
        if (batch.Clean is { } clean && clean.Shape != y.Shape)
            throw new ArgumentException($"{objective}: clean batch {clean.Shape} must have the shape of the observed batch {y.Shape}.");
    }

    /// <summary>A mask of the batch: [N, 1, H, W] (shared over channels) or [N, C, H, W].</summary>
    public static void CheckMask(string objective, string name, Tensor? mask, Tensor observed)
    {
        if (mask == null)
            throw new ArgumentException($"{objective}: the batch has no {name}; this objective needs the corruption masks.");
        var (n, c, h, w) = observed.Shape.Nchw($"{objective}: observed batch");
        var (mn, mc, mh, mw) = mask.Shape.Nchw($"{objective}: {name}");
        if (mn != n || mh != h || mw != w || (mc != 1 && mc != c))
            throw new ArgumentException($"{objective}: {name} {mask.Shape} must be [{n}, 1, {h}, {w}] or [{n}, {c}, {h}, {w}] for the observed batch {observed.Shape}.");
        Ops.SameDevice(objective, observed, mask);
    }
}
