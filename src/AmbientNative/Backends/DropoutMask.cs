using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends;

/// <summary>
/// One inverted-dropout mask as <see cref="DropoutRef"/> defines it: drop probability <see cref="P"/>, element i kept
/// by word i % 4 of Philox block (<see cref="Seed"/>, <see cref="Counter"/> + i / 4), survivors scaled by 1/(1−p).
/// </summary>
public readonly record struct DropoutMask(float P, ulong Seed, ulong Counter)
{
    /// <summary>
    /// The mask for a tensor of <paramref name="numel"/> elements from <paramref name="rng"/>'s current position,
    /// advancing it past the blocks the mask reads; null when dropout is the identity (not training, or p = 0), which
    /// leaves the rng where it was.
    /// </summary>
    public static DropoutMask? Draw(float p, Rng rng, bool training, long numel)
    {
        if (!(p >= 0f && p < 1f))
            throw new ArgumentOutOfRangeException(nameof(p), $"dropout: p = {p} must be in [0, 1) ({numel} elements).");
        if (!training || p == 0f) return null;
        var mask = new DropoutMask(p, rng.Seed, rng.Counter);
        rng.Advance(DropoutRef.Blocks((int)numel));
        return mask;
    }
}
