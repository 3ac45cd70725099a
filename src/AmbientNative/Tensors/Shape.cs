namespace AmbientNative.Tensors;

/// <summary>Dimensions of a contiguous row-major tensor (NCHW for images). Immutable.</summary>
public readonly struct Shape : IEquatable<Shape>
{
    private readonly int[] _dims;

    public Shape(params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        foreach (int d in dims)
            if (d < 0) throw new ArgumentException($"Shape {Format(dims)} has a negative dimension.", nameof(dims));
        _dims = (int[])dims.Clone();
    }

    public int Rank => _dims?.Length ?? 0;
    public int this[int axis] => _dims[axis < 0 ? axis + Rank : axis];
    public ReadOnlySpan<int> Dims => _dims;

    /// <summary>Number of elements; a rank-0 shape holds one scalar.</summary>
    public int Numel
    {
        get
        {
            long n = 1;
            foreach (int d in Dims) n *= d;
            if (n > int.MaxValue) throw new OverflowException($"Shape {this} has more than 2^31 elements.");
            return (int)n;
        }
    }

    /// <summary>Row-major strides in elements.</summary>
    public int[] Strides()
    {
        var s = new int[Rank];
        int acc = 1;
        for (int i = Rank - 1; i >= 0; i--) { s[i] = acc; acc *= _dims[i]; }
        return s;
    }

    /// <summary>Resolves a negative axis and checks it is in range.</summary>
    public int Axis(int axis)
    {
        int a = axis < 0 ? axis + Rank : axis;
        if (a < 0 || a >= Rank) throw new ArgumentOutOfRangeException(nameof(axis), $"Axis {axis} is out of range for shape {this}.");
        return a;
    }

    public int[] ToArray() => (int[])(_dims ?? []).Clone();

    /// <summary>Throws a clear error unless this is a 4-D NCHW shape.</summary>
    public (int N, int C, int H, int W) Nchw(string what = "tensor")
    {
        if (Rank != 4) throw new ArgumentException($"{what} must be 4-D (N, C, H, W); got shape {this}.");
        return (_dims[0], _dims[1], _dims[2], _dims[3]);
    }

    public bool Equals(Shape other) => Dims.SequenceEqual(other.Dims);
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (int d in Dims) h.Add(d);
        return h.ToHashCode();
    }
    public static bool operator ==(Shape a, Shape b) => a.Equals(b);
    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);
    public override string ToString() => Format(_dims ?? []);
    private static string Format(int[] dims) => "[" + string.Join(", ", dims) + "]";

    public static implicit operator Shape(int[] dims) => new(dims);
}
