namespace AmbientNative.Backends.Cpu.Fast;

/// <summary>
/// A CPU tensor's elements as its backing array and where they start in it (past 0 when the storage is a slice of a
/// larger one, e.g. a parameter arena): what the fast backend's parallel loops capture, since a closure cannot capture
/// a span. Every access is checked against the tensor's own range, not just the array's, so a loop that overruns its
/// tensor throws instead of writing into a neighbour. Hot loops take one span per chunk or row and index that: a span
/// local stays in registers, while a captured struct's fields are reloaded after every store (measured: AdamStep on
/// 32K elements 1.7× slower indexing through the struct). The default value is empty: an absent optional tensor.
/// </summary>
internal readonly struct HostArray
{
    private readonly float[] _array;
    private readonly int _offset;

    public HostArray(float[] array, int offset, int length)
    {
        if (offset < 0 || length < 0 || (long)offset + length > array.Length)
            throw new ArgumentOutOfRangeException(nameof(length), $"[{offset}, {(long)offset + length}) does not fit an array of {array.Length} elements.");
        _array = array;
        _offset = offset;
        Length = length;
    }

    /// <summary>A whole array (a host buffer or test data) as one tensor's elements.</summary>
    public static implicit operator HostArray(float[] array) => new(array, 0, array.Length);

    public int Length { get; }
    public bool IsEmpty => Length == 0;

    public ref float this[int i] => ref AsSpan(0, Length)[i];

    public Span<float> AsSpan(int start, int length) => _array.AsSpan(_offset, Length).Slice(start, length);
}
