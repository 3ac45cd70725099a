using AmbientNative.Autograd;
using AmbientNative.Backends;
using AmbientNative.Tensors;

namespace AmbientNative.Training;

/// <summary>
/// Adam with decoupled weight decay (AdamW), matching torch.optim.AdamW; with the default weight decay 0 it is
/// torch.optim.Adam, EDM's optimizer (betas (0.9, 0.999), eps 1e-8). The update formula is on
/// <see cref="IBackend.AdamStep"/>; it runs on each parameter's own backend.
/// </summary>
/// <remarks>
/// Like PyTorch, each parameter counts its own steps and a parameter without a gradient is skipped entirely
/// (no decay, no moment update, no step), so its bias correction stays right if it misses steps.
/// The moments are allocated up front as zeros, which is the same as PyTorch's lazy state at step 0.
/// When the parameters are exactly one <see cref="ParameterArena"/>'s, the moments are flat tensors laid out like
/// it, and a step in which every parameter has a gradient and all have taken the same number of steps is one
/// <see cref="IBackend.AdamStep"/> over the whole arena (PyTorch's multi-tensor "foreach" Adam, as one launch);
/// any other step goes parameter by parameter, on views of the same moments. Both give the same bits.
/// </remarks>
public sealed class Adam : IDisposable
{
    private readonly List<AdamState> _states = [];
    private readonly Dictionary<string, AdamState> _byName = [];
    private readonly Parameter[] _parameters;
    private readonly ParameterArena? _arena;   // set when the moments are flat, laid out like it
    private readonly Tensor? _flatM, _flatV;
    private bool _disposed;

    public Adam(IEnumerable<Parameter> parameters, double lr, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 0)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Lr = lr; Beta1 = beta1; Beta2 = beta2; Eps = eps; WeightDecay = weightDecay;
        Hyper(step: 1).Validate();
        _parameters = parameters.ToArray();
        _arena = ParameterArena.Holding(_parameters);
        if (_arena != null) { _flatM = _arena.NewFlat(); _flatV = _arena.NewFlat(); }
        for (int i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i];
            if (_byName.ContainsKey(p.Name))
                throw new ArgumentException($"Adam: two parameters are named \"{p.Name}\"; names key the optimizer state.", nameof(parameters));
            var s = _arena != null
                ? new AdamState(p, _arena.View(_flatM!, i), _arena.View(_flatV!, i))
                : new AdamState(p, Tensor.Zeros(p.Shape, p.Device), Tensor.Zeros(p.Shape, p.Device));
            _states.Add(s);
            _byName.Add(p.Name, s);
        }
    }

    /// <summary>True when the next <see cref="Step"/> is one launch over the whole arena (see remarks).</summary>
    public bool NextStepIsFlat
    {
        get
        {
            // (float)Eps, as the kernels see it: a positive eps keeps the arena's gaps zero (0/(0 + eps)); 0 would make them 0/0.
            if (_arena == null || (float)Eps <= 0 || !ReferenceEquals(ParameterArena.Holding(_parameters), _arena) || !_arena.AllHaveGradients())
                return false;
            foreach (var s in _states)
                if (s.Step != _states[0].Step) return false;
            return true;
        }
    }

    /// <summary>
    /// Steps taken as one launch over the arena. The flat path turns off quietly when a parameter misses a step (its
    /// count then differs for good) or lacks a gradient; this counter is how a caller or test sees it.
    /// </summary>
    public long FlatSteps { get; private set; }

    /// <summary>Learning rate of the next <see cref="Step"/>; a schedule sets it before each step.</summary>
    public double Lr { get; set; }
    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Eps { get; }
    public double WeightDecay { get; }

    /// <summary>Number of <see cref="Step"/> calls (for logging; bias correction uses each parameter's own count).</summary>
    public long StepCount { get; private set; }

    /// <summary>Per-parameter state in construction order: what a checkpoint saves and restores.</summary>
    public IReadOnlyList<AdamState> States => _states;

    /// <summary>The state of the parameter with this name.</summary>
    public AdamState this[string name] => _byName.TryGetValue(name, out var s)
        ? s
        : throw new KeyNotFoundException($"Adam: no parameter named \"{name}\".");

    /// <summary>Updates every parameter that has a gradient. Gradients are only read; clear them with <see cref="ZeroGrad"/>.</summary>
    public void Step()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        // Validated once per step, not per parameter: Lr may have been changed since the last one.
        Hyper(step: 1).Validate();
        if (NextStepIsFlat)
        {
            foreach (var s in _states) s.Step++;
            _arena!.Device.Backend.AdamStep(_arena.Values, _arena.Gradients!, _flatM!, _flatV!, Hyper(_states[0].Step));
            FlatSteps++;
        }
        else
            foreach (var s in _states)
            {
                var g = s.Parameter.Grad;
                if (g == null) continue;
                s.Step++;
                s.Parameter.Device.Backend.AdamStep(s.Parameter, g, s.M, s.V, Hyper(s.Step));
            }
        StepCount++;
    }

    /// <summary>Frees every parameter's gradient (PyTorch's zero_grad(set_to_none=True)).</summary>
    public void ZeroGrad()
    {
        foreach (var s in _states) s.Parameter.ZeroGrad();
    }

    private AdamStepParams Hyper(long step) => new(Lr, Beta1, Beta2, Eps, WeightDecay, step);

    /// <summary>Frees the moment tensors (the parameters belong to the model).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var s in _states) { s.M.Dispose(); s.V.Dispose(); }
        _flatM?.Dispose();
        _flatV?.Dispose();
    }
}

/// <summary>
/// Adam's state for one parameter: first and second moments (PyTorch's exp_avg and exp_avg_sq) and the number
/// of steps taken. A checkpoint restores it by overwriting M and V in place and setting Step.
/// </summary>
public sealed class AdamState
{
    private long _step;

    internal AdamState(Parameter parameter, Tensor m, Tensor v) { Parameter = parameter; M = m; V = v; }

    public Parameter Parameter { get; }
    public string Name => Parameter.Name;
    public Tensor M { get; }
    public Tensor V { get; }

    public long Step
    {
        get => _step;
        set => _step = value >= 0 ? value
            : throw new ArgumentOutOfRangeException(nameof(value), $"Adam state of \"{Name}\": step must be ≥ 0; got {value}.");
    }
}
