namespace AmbientNative.Tensors;

/// <summary>Host storage: a pooled float[] (possibly longer than <see cref="Storage.Length"/>).</summary>
public sealed class CpuStorage : Storage
{
    private float[]? _array;
    private readonly Device _device;

    internal CpuStorage(int length, Device device) : base(length)
    {
        _array = CpuAllocator.Rent(length);
        _device = device;
    }

    public override Device Device => _device;

    public Span<float> Span => (_array ?? throw new ObjectDisposedException(nameof(CpuStorage))).AsSpan(0, Length);

    /// <summary>The backing array, for code that needs an array (e.g. Parallel.For closures).</summary>
    public float[] Array => _array ?? throw new ObjectDisposedException(nameof(CpuStorage));

    protected override void Free()
    {
        var a = _array;
        _array = null;
        if (a != null) CpuAllocator.Return(a);
    }

    public override void CopyTo(Span<float> destination) => Span.CopyTo(destination);
    public override void CopyFrom(ReadOnlySpan<float> source) => source.CopyTo(Span);
}
