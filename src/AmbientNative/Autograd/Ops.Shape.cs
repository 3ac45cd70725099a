using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Autograd;

public static partial class Ops
{
    /// <summary>The same elements under a new shape: a view sharing x's storage (no copy). The gradient is viewed back.</summary>
    public static Tensor Reshape(Tensor x, Shape shape)
    {
        if (shape.Numel != x.Numel)
            throw new ArgumentException($"reshape: cannot view {x.Shape} ({x.Numel} elements) as {shape} ({shape.Numel} elements).");
        var y = x.ViewAs(shape);
        return Tape.Record(y, [x], gy => Tape.Accumulate(x, gy.ViewAs(x.Shape)));
    }

    /// <summary>Reshape with at most one dimension given as -1, inferred from the element count.</summary>
    public static Tensor Reshape(Tensor x, params int[] dims)
    {
        int infer = Array.IndexOf(dims, -1), known = 1;
        for (int k = 0; k < dims.Length; k++)
        {
            if (k == infer) continue;
            if (dims[k] < 0)
                throw new ArgumentException($"reshape: [{string.Join(", ", dims)}] may hold a single -1 and otherwise sizes ≥ 0 (input {x.Shape}).");
            known *= dims[k];
        }
        if (infer >= 0)
        {
            if (known == 0 || x.Numel % known != 0)
                throw new ArgumentException($"reshape: cannot view {x.Shape} ({x.Numel} elements) as [{string.Join(", ", dims)}].");
            dims = (int[])dims.Clone();
            dims[infer] = x.Numel / known;
        }
        return Reshape(x, new Shape(dims));
    }

    /// <summary>A copy with axes reordered: the result's axis k is x's axis perm[k]. Backward permutes by the inverse.</summary>
    public static Tensor Permute(Tensor x, params int[] perm)
    {
        var seen = new bool[x.Rank];
        bool ok = perm.Length == x.Rank;
        foreach (int p in perm)
        {
            ok &= (uint)p < (uint)x.Rank && !seen[p];
            if (ok) seen[p] = true;
        }
        if (!ok) throw new ArgumentException($"permute: [{string.Join(", ", perm)}] is not a permutation of the {x.Rank} axes of {x.Shape}.");
        perm = (int[])perm.Clone();
        var dims = new int[x.Rank];
        for (int k = 0; k < dims.Length; k++) dims[k] = x.Shape[perm[k]];
        var y = New(x, new Shape(dims));
        B(x).Permute(x, y, perm);
        var inverse = ShapeRef.Inverse(perm);
        return Tape.Record(y, [x], gy =>
        {
            var gx = NewLike(x);
            B(x).Permute(gy, gx, inverse);
            Tape.Accumulate(x, gx);
        });
    }

    /// <summary>A copy with axes <paramref name="a0"/> and <paramref name="a1"/> swapped (negative axes count from the end).</summary>
    public static Tensor Transpose(Tensor x, int a0, int a1)
    {
        var perm = Enumerable.Range(0, x.Rank).ToArray();
        int i = x.Shape.Axis(a0), j = x.Shape.Axis(a1);
        (perm[i], perm[j]) = (perm[j], perm[i]);
        return Permute(x, perm);
    }

    /// <summary>Concatenates tensors along <paramref name="axis"/> (e.g. 1: channels for U-Net skips); other dimensions must match.</summary>
    public static Tensor Concat(int axis, params Tensor[] xs)
    {
        if (xs.Length == 0) throw new ArgumentException("concat: needs at least one tensor.");
        var first = xs[0];
        int a = first.Shape.Axis(axis), size = 0;
        var starts = new int[xs.Length];
        for (int t = 0; t < xs.Length; t++)
        {
            SameDevice("concat", first, xs[t]);
            bool match = xs[t].Rank == first.Rank;
            for (int k = 0; match && k < first.Rank; k++) match = k == a || xs[t].Shape[k] == first.Shape[k];
            if (!match)
                throw new ArgumentException(
                    $"concat: shapes {string.Join(", ", xs.Select(x => x.Shape))} must agree except along axis {a}.");
            starts[t] = size;
            size += xs[t].Shape[a];
        }
        var dims = first.Shape.ToArray();
        dims[a] = size;
        var y = New(first, new Shape(dims));
        var parts = (Tensor[])xs.Clone();
        B(first).Concat(parts, y, a);
        return Tape.Record(y, parts, gy =>
        {
            for (int t = 0; t < parts.Length; t++)
            {
                if (!parts[t].RequiresGrad) continue;
                var g = NewLike(parts[t]);
                B(first).Slice(gy, g, a, starts[t]);
                Tape.Accumulate(parts[t], g);
            }
        });
    }

    /// <summary>A copy of x[start : start + length] along <paramref name="axis"/>.</summary>
    public static Tensor Slice(Tensor x, int axis, int start, int length)
    {
        int a = x.Shape.Axis(axis);
        if (start < 0 || length < 0 || start + length > x.Shape[a])
            throw new ArgumentException($"slice: [{start}, {start + length}) is outside axis {a} of {x.Shape}.");
        var dims = x.Shape.ToArray();
        dims[a] = length;
        var y = New(x, new Shape(dims));
        B(x).Slice(x, y, a, start);
        return Tape.Record(y, [x], gy =>
        {
            // When x already has a gradient (another slice of it, as the pieces of a Split, or another consumer), this
            // slice's gradient is added into its part of it: no full-size temporary, no full-size add. Otherwise it
            // becomes x's gradient, zeros around the part.
            if (Tape.AccumulationTarget(x) is { } into)
            {
                B(x).SliceBackwardAdd(gy, into, a, start);
                return;
            }
            var gx = NewLike(x);
            B(x).SliceBackward(gy, gx, a, start);
            Tape.Accumulate(x, gx);
        });
    }

    /// <summary>
    /// Consecutive slices of the given sizes along <paramref name="axis"/> (they must add up to its length). Each piece
    /// is recorded as its own slice, so the tape needs no multi-output entries; the piece whose gradient reaches x first
    /// writes a full-size gradient of x (zeros outside the piece), the others add into their part of it.
    /// </summary>
    public static Tensor[] Split(Tensor x, int axis, int[] sizes)
    {
        int a = x.Shape.Axis(axis);
        if (sizes.Any(s => s < 0) || sizes.Sum() != x.Shape[a])
            throw new ArgumentException($"split: sizes [{string.Join(", ", sizes)}] must be ≥ 0 and add up to {x.Shape[a]}, axis {a} of {x.Shape}.");
        var pieces = new Tensor[sizes.Length];
        for (int t = 0, start = 0; t < sizes.Length; start += sizes[t], t++) pieces[t] = Slice(x, a, start, sizes[t]);
        return pieces;
    }
}
