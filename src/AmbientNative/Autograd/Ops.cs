using AmbientNative.Backends;
using AmbientNative.Tensors;

namespace AmbientNative.Autograd;

/// <summary>
/// Differentiable functions on tensors. Each op runs its forward on the inputs' backend and records, right
/// beside it, the closure that turns the output gradient into input gradients. Partial: one file per op
/// family (Ops.&lt;Family&gt;.cs).
/// Rules for backward closures: use backend methods and <see cref="Tensor.Empty"/> only (never Ops.*, whose
/// outputs the tape would own and free), and hand each input gradient to <see cref="Tape.Accumulate"/>.
/// </summary>
public static partial class Ops
{
    /// <summary>A new uninitialised tensor on <paramref name="like"/>'s device, not owned by any tape.</summary>
    internal static Tensor New(Tensor like, Shape shape) => Tensor.Empty(shape, like.Device);
    internal static Tensor NewLike(Tensor like) => Tensor.Empty(like.Shape, like.Device);

    /// <summary>
    /// Runs the backend call that writes the gradient buffer <paramref name="buffer"/>; if it throws, disposes the buffer
    /// (which may be a parameter's lent arena slot, <see cref="Tape.GradientBuffer"/>) before passing the exception on.
    /// </summary>
    internal static void Fill(Tensor buffer, Action write)
    {
        try { write(); }
        catch { buffer.Dispose(); throw; }
    }

    internal static IBackend B(Tensor t) => t.Device.Backend;

    internal static void SameDevice(string op, Tensor a, Tensor b)
    {
        if (a.Device != b.Device) throw new ArgumentException($"{op}: operands are on different devices ({a.Device} and {b.Device}).");
    }
}
