using AmbientNative.Tensors;

namespace AmbientNative.Autograd;

/// <summary>
/// One flat storage holding a list of parameters end to end, and one holding their gradients, so that the
/// optimizer's per-element work (Adam, EMA, the gradient norm and its scaling, the finiteness check) is one launch
/// over every parameter instead of one per parameter: on a GPU, a few launches and one host read per step where
/// there were hundreds, and no per-parameter host reads standing in the way of capturing the step as a graph.
/// </summary>
/// <remarks>
/// <see cref="Adopt"/> moves each parameter's values into its slice of <see cref="Values"/> (the parameters stay
/// the same objects, with the same values) and gives it a slot in <see cref="Gradients"/>: backward closures write each
/// parameter's gradient there (<see cref="Tape.GradientBuffer"/>, <see cref="Tape.Accumulate"/>), so after a backward
/// pass the flat tensor holds them all. <see cref="Training.Adam"/>, <see cref="Training.Ema"/> and <see cref="Training.GradientClipping"/>
/// take the flat path when every parameter they were given is held by one arena in its order and has a gradient,
/// and the per-parameter path otherwise; both give the same values (the norm up to float64 summation order).
/// Adopt before training, not while a tape holds views of the parameters (those keep the old memory).
/// </remarks>
public sealed class ParameterArena : IDisposable
{
    /// <summary>
    /// Each parameter starts at a multiple of 64 floats (256 bytes, the alignment cudaMalloc gives), so every kernel
    /// sees a parameter as aligned as its own allocation would be. The gaps are zeros in every flat tensor, and Adam
    /// (with eps &gt; 0), the EMA and the norm keep them zero.
    /// </summary>
    public const int Alignment = 64;

    private readonly Parameter[] _parameters;
    private readonly int[] _offsets;
    private bool _disposed;

    private ParameterArena(Parameter[] parameters, int[] offsets, int length, Device device, bool gradients)
    {
        _parameters = parameters;
        _offsets = offsets;
        Length = length;
        Device = device;
        Values = Tensor.Zeros(new Shape(length), device);
        try { Gradients = gradients ? Tensor.Zeros(new Shape(length), device) : null; }
        catch { Values.Dispose(); throw; } // e.g. out of device memory: give the first block back
    }

    /// <summary>The parameters in arena order.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>Elements of each flat tensor, gaps included.</summary>
    public int Length { get; }

    /// <summary>
    /// Gradients the tape had to copy into their slots (a backward closure wrote them elsewhere): zero when every
    /// parameter's gradient comes from a closure that writes through <see cref="Tape.GradientBuffer"/>.
    /// </summary>
    public long GradientCopies { get; internal set; }

    public Device Device { get; }

    /// <summary>Every parameter's values, flat: parameter i is elements [OffsetOf(i), OffsetOf(i) + numel).</summary>
    public Tensor Values { get; }

    /// <summary>Every parameter's gradient slot, flat (null for an arena adopted without gradients, e.g. EMA copies).</summary>
    public Tensor? Gradients { get; }

    public int OffsetOf(int index) => _offsets[index];

    /// <summary>
    /// Moves <paramref name="parameters"/> (one device, no repeats) into a new arena, in the order given. With
    /// <paramref name="gradients"/>, each parameter also gets a gradient slot; a gradient it already has is moved
    /// there. A parameter leaving an earlier arena leaves it for good (that arena's flat paths stop applying).
    /// </summary>
    public static ParameterArena Adopt(IEnumerable<Parameter> parameters, bool gradients = true)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var list = parameters.ToArray();
        if (list.Length == 0) throw new ArgumentException("Parameter arena: no parameters to hold.", nameof(parameters));
        var device = list[0].Device;
        var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
        var offsets = new int[list.Length];
        long length = 0;
        for (int i = 0; i < list.Length; i++)
        {
            var p = list[i];
            ObjectDisposedException.ThrowIf(p.IsDisposed, p);
            if (!ReferenceEquals(p.Device, device))
                throw new ArgumentException($"Parameter arena: \"{p.Name}\" is on {p.Device} but \"{list[0].Name}\" is on {device}; an arena holds one device.", nameof(parameters));
            if (!seen.Add(p)) throw new ArgumentException($"Parameter arena: \"{p.Name}\" is listed twice.", nameof(parameters));
            offsets[i] = (int)length;
            length += (p.Numel + Alignment - 1) / Alignment * Alignment;
            if (length > int.MaxValue)
                throw new ArgumentException($"Parameter arena: {length} elements up to \"{p.Name}\" exceed one storage's {int.MaxValue}.", nameof(parameters));
        }

        var arena = new ParameterArena(list, offsets, (int)length, device, gradients);
        for (int i = 0; i < list.Length; i++)
        {
            var p = list[i];
            p.MoveTo(arena.Values.Storage.Slice(offsets[i], p.Numel));
            p.GradSlot?.Release();
            p.GradSlot = gradients ? arena.Gradients!.Storage.Slice(offsets[i], p.Numel) : null;
            if (p.Grad is { } g && p.GradSlot != null)
            {
                p.GradSlot.AddRef(); // the gradient tensor's own reference
                var inSlot = new Tensor(p.Shape, p.GradSlot);
                inSlot.CopyFrom(g);
                p.ZeroGrad();
                p.Grad = inSlot;
            }
            p.Arena = arena;
        }
        return arena;
    }

    /// <summary>
    /// The arena holding exactly <paramref name="parameters"/> in this order, all still in it; null when they are
    /// not one arena's parameters (then the caller takes its per-parameter path).
    /// </summary>
    public static ParameterArena? Holding(IReadOnlyList<Parameter> parameters)
    {
        if (parameters.Count == 0 || parameters[0].Arena is not { _disposed: false } a || a._parameters.Length != parameters.Count)
            return null;
        for (int i = 0; i < parameters.Count; i++)
            if (!ReferenceEquals(parameters[i], a._parameters[i]) || !ReferenceEquals(parameters[i].Arena, a)) return null;
        return a;
    }

    /// <summary>
    /// The flat gradient tensor when <paramref name="parameters"/> are exactly one arena's and every one of them has
    /// a gradient (so the flat tensor holds this step's gradients and nothing stale); null otherwise.
    /// </summary>
    public static Tensor? FlatGradients(IReadOnlyList<Parameter> parameters) =>
        Holding(parameters) is { Gradients: { } g } a && a.AllHaveGradients() ? g : null;

    /// <summary>
    /// True when every parameter has a gradient and it lives in the parameter's slot (where the tape puts it; a
    /// gradient set some other way would leave the flat tensor stale, so it sends the caller down the per-parameter path).
    /// </summary>
    public bool AllHaveGradients()
    {
        foreach (var p in _parameters)
            if (p.Grad is not { } g || p.GradSlot == null || !ReferenceEquals(g.Storage, p.GradSlot)) return false;
        return true;
    }

    /// <summary>A zero flat tensor laid out like this arena (Adam's moments).</summary>
    public Tensor NewFlat() => Tensor.Zeros(new Shape(Length), Device);

    /// <summary>Parameter <paramref name="index"/>'s part of a flat tensor laid out like this arena, as a view of its shape.</summary>
    public Tensor View(Tensor flat, int index)
    {
        if (flat.Numel != Length || !ReferenceEquals(flat.Device, Device))
            throw new ArgumentException($"Parameter arena: a flat tensor must have {Length} elements on {Device}; got {flat.Shape} on {flat.Device}.", nameof(flat));
        var p = _parameters[index];
        return new Tensor(p.Shape, flat.Storage.Slice(_offsets[index], p.Numel));
    }

    /// <summary>
    /// Releases the flat tensors. The parameters keep their values (their slices hold the memory) and their current
    /// gradients, and go back to per-parameter gradients.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var p in _parameters)
        {
            if (!ReferenceEquals(p.Arena, this)) continue;
            p.Arena = null;
            p.GradSlot?.Release();
            p.GradSlot = null;
        }
        Values.Dispose();
        Gradients?.Dispose();
    }
}
