namespace AmbientNative.Tensors;

/// <summary>
/// Host storage: a pooled float[] (possibly longer than <see cref="Storage.Length"/>), or a slice of another
/// host storage's array starting at <see cref="Offset"/>.
/// </summary>
public sealed class CpuStorage : Storage
{
    private float[]? _array;
    private readonly Device _device;
    private readonly CpuStorage? _parent; // set for a slice: the storage whose array this one shares

    internal CpuStorage(int length, Device device) : base(length)
    {
        _array = CpuAllocator.Rent(length);
        _device = device;
    }

    private CpuStorage(CpuStorage parent, int offset, int length) : base(length)
    {
        _array = parent.Array;
        _device = parent._device;
        _parent = parent;
        Offset = parent.Offset + offset;
    }

    public override Device Device => _device;

    /// <summary>Where this storage's elements start in <see cref="Array"/>: 0 unless it is a slice.</summary>
    public int Offset { get; }

    public Span<float> Span => (_array ?? throw new ObjectDisposedException(nameof(CpuStorage))).AsSpan(Offset, Length);

    /// <summary>
    /// The backing array, for code that needs an array (e.g. Parallel.For closures). Element i of this storage is
    /// Array[Offset + i]; use <see cref="Segment"/> unless the offset is handled.
    /// </summary>
    public float[] Array => _array ?? throw new ObjectDisposedException(nameof(CpuStorage));

    /// <summary>This storage's elements as a segment of the backing array.</summary>
    public ArraySegment<float> Segment => new(Array, Offset, Length);

    protected override Storage CreateSlice(int offset, int length) => new CpuStorage(this, offset, length);

    protected override void Free()
    {
        var a = _array;
        _array = null;
        if (_parent != null) _parent.Release();
        else if (a != null) CpuAllocator.Return(a);
    }

    public override void CopyTo(Span<float> destination) => Span.CopyTo(destination);
    public override void CopyFrom(ReadOnlySpan<float> source) => source.CopyTo(Span);
}
