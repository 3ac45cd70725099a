using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu.Reference;

/// <summary>
/// NumPy broadcasting of one input to an output shape: dimensions are right-aligned, and an input dimension
/// of size 1 (or missing) repeats along the output's. The map works in both directions: forward gathers
/// (output element → the input element it reads), backward sums (input element ← every output element
/// that read it), so gradients are reduced per input element in a fixed order (one GPU thread each).
/// </summary>
public sealed class Broadcast
{
    private readonly int[] _out;        // output dims
    private readonly int[] _in;         // input dims right-aligned to the output rank, missing ones as 1
    private readonly int[] _inStrides;  // row-major strides of the input, aligned the same way
    private readonly int[] _outStrides;

    public Broadcast(Shape input, Shape output)
    {
        if (ResultShape(input, output, "broadcast") != output)
            throw new ArgumentException($"broadcast: shape {input} cannot be broadcast to {output}.");
        int r = output.Rank, pad = r - input.Rank;
        _out = output.ToArray();
        _outStrides = output.Strides();
        _in = new int[r];
        _inStrides = new int[r];
        var s = input.Strides();
        for (int k = 0; k < r; k++)
        {
            _in[k] = k < pad ? 1 : input[k - pad];
            _inStrides[k] = k < pad ? 0 : s[k - pad];
        }
        Fan = 1;
        for (int k = 0; k < r; k++)
            if (_in[k] != _out[k]) Fan *= _out[k];
    }

    /// <summary>How many output elements read each input element.</summary>
    public int Fan { get; }

    /// <summary>The shape of a ∘ b under broadcasting; the error names the op and both shapes.</summary>
    public static Shape ResultShape(Shape a, Shape b, string op)
    {
        int r = Math.Max(a.Rank, b.Rank);
        var dims = new int[r];
        for (int k = 1; k <= r; k++)
        {
            int da = k <= a.Rank ? a[a.Rank - k] : 1, db = k <= b.Rank ? b[b.Rank - k] : 1;
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException(
                    $"{op}: shapes {a} and {b} cannot be broadcast together (dimension {k} from the right is {da} vs {db}).");
            dims[r - k] = da == 1 ? db : da;
        }
        return new Shape(dims);
    }

    /// <summary>The input element read by output element <paramref name="o"/>.</summary>
    public int InputIndex(int o)
    {
        int j = 0;
        for (int k = _out.Length - 1; k >= 0; k--)
        {
            int c = o % _out[k];
            o /= _out[k];
            if (_in[k] != 1) j += c * _inStrides[k];
        }
        return j;
    }

    /// <summary>The <paramref name="r"/>-th (0 ≤ r &lt; <see cref="Fan"/>) output element that reads input element <paramref name="j"/>.</summary>
    public int OutputIndex(int j, int r)
    {
        int o = 0;
        for (int k = _out.Length - 1; k >= 0; k--)
        {
            int c;
            if (_in[k] == _out[k]) { c = j % _in[k]; j /= _in[k]; }  // kept dimension: coordinate from j
            else { c = r % _out[k]; r /= _out[k]; }                 // broadcast dimension: coordinate from r
            o += c * _outStrides[k];
        }
        return o;
    }
}
