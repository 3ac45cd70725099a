using AmbientNative.Autograd;
using AmbientNative.Tensors;

namespace AmbientNative.Training;

/// <summary>
/// Exponential moving average of a model's parameters with EDM's half-life convention: after each step,
/// ema ← β·ema + (1 − β)·p with β = 0.5^(batchSize / halfLife), so the weight of an update halves every
/// halfLife images whatever the batch size. With a ramp-up ratio r the half-life is min(halfLifeImages,
/// imagesSeen·r), so early on the average forgets quickly and does not drag the random initialisation along.
/// EDM's defaults: half-life 500 kimg, ramp-up 0.05.
/// When the parameters are exactly one <see cref="ParameterArena"/>'s, the averages get an arena of the same layout
/// and an update is one launch over both flat tensors (bit-identical to the per-parameter update).
/// </summary>
public sealed class Ema : IDisposable
{
    private readonly List<Parameter> _sources = [];
    private readonly List<Parameter> _averages = []; // _averages[i] averages _sources[i]
    private readonly ParameterArena? _sourceArena, _averageArena;
    private bool _disposed;

    /// <param name="parameters">The trained parameters; the average starts as a copy of them.</param>
    /// <param name="halfLifeImages">Half-life in images (EDM: ema_halflife_kimg · 1000).</param>
    /// <param name="rampupRatio">EDM's ema_rampup_ratio; null turns the ramp-up off.</param>
    public Ema(IEnumerable<Parameter> parameters, double halfLifeImages = 500_000, double? rampupRatio = 0.05)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(halfLifeImages >= 0)) throw new ArgumentOutOfRangeException(nameof(halfLifeImages), $"EMA: half-life must be ≥ 0 images; got {halfLifeImages}.");
        if (rampupRatio is { } r && !(r >= 0)) throw new ArgumentOutOfRangeException(nameof(rampupRatio), $"EMA: ramp-up ratio must be ≥ 0; got {r}.");
        HalfLifeImages = halfLifeImages;
        RampupRatio = rampupRatio;
        var names = new HashSet<string>();
        foreach (var p in parameters)
        {
            if (!names.Add(p.Name)) throw new ArgumentException($"EMA: two parameters are named \"{p.Name}\".", nameof(parameters));
            var copy = new Parameter(p.Name, p.Shape, p.Device);
            copy.RequireGrad(false); // an average is never trained
            copy.CopyFrom(p);
            _sources.Add(p);
            _averages.Add(copy);
        }
        _sourceArena = ParameterArena.Holding(_sources);
        // Same shapes in the same order: Adopt lays the averages out exactly as the sources.
        if (_sourceArena != null) _averageArena = ParameterArena.Adopt(_averages, gradients: false);
    }

    public double HalfLifeImages { get; }
    public double? RampupRatio { get; }

    /// <summary>Updates made as one launch over the parameter arena (see the class summary).</summary>
    public long FlatUpdates { get; private set; }

    /// <summary>The averaged parameters, same names, shapes and order as the source: what a checkpoint saves.</summary>
    public IReadOnlyList<Parameter> Parameters => _averages;

    /// <summary>
    /// EDM's β: 0.5^(batchSize / max(h, 1e-8)) with h = halfLifeImages, or min(halfLifeImages, imagesSeen·r)
    /// under ramp-up. imagesSeen counts the images before this step (EDM's cur_nimg), so with ramp-up the first
    /// step has h = 0, β = 0 and the average becomes a copy of the trained weights.
    /// </summary>
    public static double Beta(int batchSize, double halfLifeImages, long imagesSeen, double? rampupRatio)
    {
        double h = halfLifeImages;
        if (rampupRatio is { } r) h = Math.Min(h, imagesSeen * r);
        return Math.Pow(0.5, batchSize / Math.Max(h, 1e-8));
    }

    /// <summary>Folds the current parameters into the average after an optimizer step; returns the β used.</summary>
    public double Update(long imagesSeen, int batchSize)
    {
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), $"EMA: batch size must be > 0; got {batchSize}.");
        if (imagesSeen < 0) throw new ArgumentOutOfRangeException(nameof(imagesSeen), $"EMA: images seen must be ≥ 0; got {imagesSeen}.");
        double beta = Beta(batchSize, HalfLifeImages, imagesSeen, RampupRatio);
        Update(beta);
        return beta;
    }

    /// <summary>ema ← β·ema + (1 − β)·p for every parameter.</summary>
    public void Update(double beta)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!(beta >= 0 && beta <= 1)) throw new ArgumentOutOfRangeException(nameof(beta), $"EMA: β must be in [0, 1]; got {beta}.");
        if (_sourceArena != null && ReferenceEquals(ParameterArena.Holding(_sources), _sourceArena)
            && ReferenceEquals(ParameterArena.Holding(_averages), _averageArena))
        {
            _averageArena!.Device.Backend.EmaUpdate(_averageArena.Values, _sourceArena.Values, beta);
            FlatUpdates++;
        }
        else
            for (int i = 0; i < _averages.Count; i++) _averages[i].Device.Backend.EmaUpdate(_averages[i], _sources[i], beta);
    }

    /// <summary>
    /// Copies the averages into <paramref name="target"/>'s parameters, matched by name (e.g. a second model
    /// instance used for sampling). Every target parameter must have an average of the same shape.
    /// </summary>
    public void CopyTo(IEnumerable<Parameter> target)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(target);
        var byName = _averages.ToDictionary(a => a.Name);
        foreach (var t in target)
        {
            if (!byName.TryGetValue(t.Name, out var avg))
                throw new ArgumentException($"EMA: target parameter \"{t.Name}\" has no average.", nameof(target));
            if (avg.Shape != t.Shape)
                throw new ArgumentException($"EMA: parameter \"{t.Name}\" has shape {t.Shape} but its average has {avg.Shape}.", nameof(target));
            t.CopyFrom(avg);
        }
    }

    /// <summary>Frees the averaged copies (the source parameters belong to the model).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _averageArena?.Dispose();
        foreach (var avg in _averages) avg.Dispose();
    }
}
