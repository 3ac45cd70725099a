namespace AmbientNative.Tensors;

/// <summary>
/// A flat buffer of float32 owned by one device. Reference-counted so that views (reshape) can share it;
/// the memory goes back to its allocator when the last holder disposes it. A <see cref="Slice"/> is a storage
/// over a contiguous range of another one (a parameter inside a flat parameter arena): it shares the memory and
/// holds a reference on its parent until it is released itself.
/// </summary>
public abstract class Storage
{
    private int _refCount = 1;

    protected Storage(int length) { Length = length; }

    public int Length { get; }
    public abstract Device Device { get; }
    public bool IsReleased => Volatile.Read(ref _refCount) <= 0;

    /// <summary>How many holders the storage has (tensors, slices, an arena): 1 means only its owner.</summary>
    internal int References => Volatile.Read(ref _refCount);

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

    /// <summary>
    /// A storage over elements [offset, offset + length) of this one, sharing its memory. The slice holds a
    /// reference on this storage (released when the slice is), so the memory lives as long as any slice of it.
    /// </summary>
    internal Storage Slice(int offset, int length)
    {
        if (offset < 0 || length < 0 || (long)offset + length > Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"Slice [{offset}, {(long)offset + length}) does not fit a storage of {Length} elements.");
        AddRef();
        try { return CreateSlice(offset, length); }
        catch { Release(); throw; }
    }

    /// <summary>Builds the slice; the caller has already taken the reference the slice releases in <see cref="Free"/>.</summary>
    protected abstract Storage CreateSlice(int offset, int length);

    /// <summary>Copies the whole buffer to host memory.</summary>
    public abstract void CopyTo(Span<float> destination);
    /// <summary>Overwrites the whole buffer from host memory.</summary>
    public abstract void CopyFrom(ReadOnlySpan<float> source);
}
