using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Autograd;

public static partial class Ops
{
    /// <summary>
    /// Inverted dropout. In training, each element is zeroed with probability p and survivors are scaled by 1/(1−p);
    /// otherwise (or with p = 0) it is the identity, returned as a view of x (no copy). The mask is a pure function of
    /// (rng.Seed, rng.Counter, element index) — see <see cref="DropoutRef"/> — and <paramref name="rng"/> advances past
    /// the blocks it used, so successive calls draw fresh masks and the run stays reproducible from the Rng state.
    /// </summary>
    public static Tensor Dropout(Tensor x, float p, Rng rng, bool training)
    {
        if (!(p >= 0f && p < 1f))
            throw new ArgumentOutOfRangeException(nameof(p), $"dropout: p = {p} must be in [0, 1) (input {x.Shape}).");
        if (DropoutMask.Draw(p, rng, training, x.Numel) is not { } mask) return Reshape(x, x.Shape);
        ulong seed = mask.Seed, counter = mask.Counter;
        var y = NewLike(x);
        B(x).Dropout(x, y, p, seed, counter);
        return Tape.Record(y, [x], gy =>
        {
            var gx = NewLike(x);
            B(x).Dropout(gy, gx, p, seed, counter);
            Tape.Accumulate(x, gx);
        });
    }
}
