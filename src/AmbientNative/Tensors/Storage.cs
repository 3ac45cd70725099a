namespace AmbientNative.Tensors;

/// <summary>
/// A flat buffer of float32 owned by one device. Reference-counted so that views (reshape) can share it;
/// the memory goes back to its allocator when the last holder disposes it.
/// </summary>
public abstract class Storage
{
    private int _refCount = 1;

    protected Storage(int length) { Length = length; }

    public int Length { get; }
    public abstract Device Device { get; }
    public bool IsReleased => Volatile.Read(ref _refCount) <= 0;

    internal void AddRef()
    {
        if (Interlocked.Increment(ref _refCount) <= 1) throw new ObjectDisposedException(nameof(Storage), "Storage was already released.");
    }

    internal void Release()
    {
        int n = Interlocked.Decrement(ref _refCount);
        if (n == 0) Free();
        else if (n < 0) throw new ObjectDisposedException(nameof(Storage), "Storage released more times than it was referenced.");
    }

    protected abstract void Free();

    /// <summary>Copies the whole buffer to host memory.</summary>
    public abstract void CopyTo(Span<float> destination);
    /// <summary>Overwrites the whole buffer from host memory.</summary>
    public abstract void CopyFrom(ReadOnlySpan<float> source);
}
