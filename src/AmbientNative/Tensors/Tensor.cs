using AmbientNative.Autograd;

namespace AmbientNative.Tensors;

/// <summary>
/// A float32, contiguous, row-major (NCHW) tensor on one device. Owns a reference to its storage and must be
/// disposed (directly, or by the <see cref="Tape"/> that created it) so device memory returns to its pool.
/// Gradient bookkeeping lives here; the math lives in the backends and in <see cref="Ops"/>.
/// </summary>
public partial class Tensor : IDisposable
{
    private bool _disposed;

    internal Tensor(Shape shape, Storage storage)
    {
        if (storage.Length != shape.Numel)
            throw new ArgumentException($"Storage of {storage.Length} elements does not fit shape {shape}.");
        Shape = shape;
        Storage = storage;
    }

    public Shape Shape { get; }
    public Storage Storage { get; private set; }
    public Device Device => Storage.Device;
    public int Numel => Storage.Length;
    public int Rank => Shape.Rank;

    /// <summary>True when gradients flow into this tensor (parameters, and results of ops on such tensors).</summary>
    public bool RequiresGrad { get; internal set; }
    /// <summary>Accumulated gradient, same shape and device; null until a backward pass reaches it.</summary>
    public Tensor? Grad { get; internal set; }
    /// <summary>The tape entry that produced this tensor; null for leaves.</summary>
    internal TapeEntry? Producer { get; set; }
    public bool IsLeaf => Producer == null;
    public bool IsDisposed => _disposed;

    /// <summary>Host view of the data. Only for CPU tensors.</summary>
    public Span<float> Span => Storage is CpuStorage c
        ? c.Span
        : throw new InvalidOperationException($"Tensor {Shape} lives on {Device}; copy it to the CPU (ToArray or To(Device.Cpu)) to read it.");

    // ---- creation -------------------------------------------------------------------------------------

    public static Tensor Empty(Shape shape, Device? device = null)
    {
        var dev = device ?? Device.Cpu;
        return new Tensor(shape, dev.Backend.Allocate(shape.Numel));
    }

    public static Tensor Zeros(Shape shape, Device? device = null) => Full(shape, 0f, device);

    public static Tensor Full(Shape shape, float value, Device? device = null)
    {
        var t = Empty(shape, device);
        t.Device.Backend.Fill(t, value);
        return t;
    }

    public static Tensor FromArray(ReadOnlySpan<float> data, Shape shape, Device? device = null)
    {
        if (data.Length != shape.Numel)
            throw new ArgumentException($"{data.Length} values do not fill shape {shape} ({shape.Numel} elements).");
        var t = Empty(shape, device);
        t.Storage.CopyFrom(data);
        return t;
    }

    public static Tensor FromArray(float[] data, params int[] shape) => FromArray(data, new Shape(shape));

    /// <summary>Standard normal values from a seeded generator (drawn on the host, so identical on every device).</summary>
    public static Tensor Randn(Shape shape, Rng rng, Device? device = null, float scale = 1f)
    {
        var host = new float[shape.Numel];
        rng.FillNormal(host, 0f, scale);
        return FromArray(host, shape, device);
    }

    /// <summary>Uniform values in [lo, hi) from a seeded generator.</summary>
    public static Tensor Rand(Shape shape, Rng rng, Device? device = null, float lo = 0f, float hi = 1f)
    {
        var host = new float[shape.Numel];
        rng.FillUniform(host, lo, hi);
        return FromArray(host, shape, device);
    }

    // ---- data movement ---------------------------------------------------------------------------------

    public float[] ToArray()
    {
        var a = new float[Numel];
        Storage.CopyTo(a);
        return a;
    }

    /// <summary>The single value of a one-element tensor.</summary>
    public float Item()
    {
        if (Numel != 1) throw new InvalidOperationException($"Item() needs a one-element tensor; shape is {Shape}.");
        Span<float> one = stackalloc float[1];
        Storage.CopyTo(one);
        return one[0];
    }

    /// <summary>A copy on another device (a plain copy even when the device is the same). Not recorded on the tape.</summary>
    public Tensor To(Device device)
    {
        var host = ToArray();
        return FromArray(host, Shape, device);
    }

    /// <summary>Overwrites this tensor's values with another tensor's (same shape). Not recorded on the tape.</summary>
    public void CopyFrom(Tensor source)
    {
        if (source.Shape != Shape) throw new ArgumentException($"Cannot copy shape {source.Shape} into {Shape}.");
        Device.Backend.Copy(source, this);
    }

    /// <summary>A new tensor with the same values and no gradient history.</summary>
    public Tensor Detach()
    {
        var t = new Tensor(Shape, Device.Backend.Allocate(Numel));
        Device.Backend.Copy(this, t);
        return t;
    }

    /// <summary>Marks this leaf as one whose gradient is wanted.</summary>
    public Tensor RequireGrad(bool value = true)
    {
        if (!IsLeaf) throw new InvalidOperationException("Only leaf tensors can be marked as requiring a gradient.");
        RequiresGrad = value;
        return this;
    }

    /// <summary>Frees the accumulated gradient.</summary>
    public void ZeroGrad()
    {
        Grad?.Dispose();
        Grad = null;
    }

    /// <summary>
    /// Moves this tensor's values onto <paramref name="target"/> (same device and length; this tensor takes over the
    /// caller's reference to it) and releases the old storage. For a parameter moving into a flat arena: views taken
    /// before the move keep the old memory, so only a leaf with no live views may move.
    /// </summary>
    internal void MoveTo(Storage target)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (target.Length != Numel || !ReferenceEquals(target.Device, Device))
            throw new ArgumentException($"Cannot move tensor {Shape} on {Device} onto a storage of {target.Length} elements on {target.Device}.");
        var old = Storage;
        target.AddRef(); // for the temporary tensor the copy writes through, which releases it when disposed
        try
        {
            using var moved = new Tensor(Shape, target);
            Device.Backend.Copy(this, moved);
        }
        catch { target.Release(); throw; } // the caller's reference: we did not take it over
        Storage = target;
        old.Release();
    }

    internal Tensor ViewAs(Shape shape)
    {
        if (shape.Numel != Numel) throw new ArgumentException($"Cannot view shape {Shape} as {shape}: element counts differ.");
        Storage.AddRef();
        return new Tensor(shape, Storage);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Storage.Release();
        Grad?.Dispose();
        Grad = null;
        GC.SuppressFinalize(this);
    }

    public override string ToString() => $"Tensor{Shape} on {Device}{(RequiresGrad ? " (grad)" : "")}";
}
