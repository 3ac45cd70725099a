using AmbientNative.Tensors;

namespace AmbientNative.Autograd;

/// <summary>One recorded op: its output, its inputs, and the closure that maps the output's gradient to input gradients.</summary>
internal sealed class TapeEntry(Tensor output, Tensor[] inputs, Action<Tensor> backward)
{
    public Tensor Output { get; } = output;
    public Tensor[] Inputs { get; } = inputs;
    /// <summary>Receives dL/dOutput; calls <see cref="Tape.Accumulate"/> for each input that requires a gradient.</summary>
    public Action<Tensor> Backward { get; } = backward;
}

/// <summary>
/// The autograd tape and the owner of intermediate tensors. While a tape is current (per thread), every op
/// output is owned by it and, when an input requires a gradient, recorded with its backward closure. The
/// recording order is a topological order, so <see cref="Backward"/> is one reverse pass over the entries.
/// Disposing the tape frees every intermediate and every non-leaf gradient; parameters keep their gradients.
/// </summary>
public sealed class Tape : IDisposable
{
    [ThreadStatic] private static Tape? _current;
    [ThreadStatic] private static int _noGradDepth;

    private readonly Tape? _previous;
    private readonly List<TapeEntry> _entries = [];
    private readonly List<Tensor> _owned = [];
    private bool _disposed;

    public Tape()
    {
        _previous = _current;
        _current = this;
    }

    /// <summary>The innermost tape of this thread, or null.</summary>
    public static Tape? Current => _current;

    /// <summary>True when ops should record their backward: a tape is current and no <see cref="NoGrad"/> scope is open.</summary>
    public static bool IsRecording => _current != null && _noGradDepth == 0;

    public int EntryCount => _entries.Count;

    internal static void EnterNoGrad() => _noGradDepth++;
    internal static void ExitNoGrad() => _noGradDepth--;

    /// <summary>Makes the current tape (if any) own <paramref name="t"/>; otherwise the caller owns it.</summary>
    internal static Tensor Own(Tensor t)
    {
        _current?._owned.Add(t);
        return t;
    }

    /// <summary>
    /// Called by every differentiable op after its forward: takes ownership of the output and, when recording
    /// and some input requires a gradient, records the backward closure.
    /// </summary>
    internal static Tensor Record(Tensor output, Tensor[] inputs, Action<Tensor> backward)
    {
        Own(output);
        if (!IsRecording) return output;
        bool any = false;
        foreach (var x in inputs) any |= x.RequiresGrad;
        if (!any) return output;
        var entry = new TapeEntry(output, inputs, backward);
        output.RequiresGrad = true;
        output.Producer = entry;
        _current!._entries.Add(entry);
        return output;
    }

    /// <summary>
    /// Adds <paramref name="grad"/> into <paramref name="x"/>.Grad, taking ownership of it. A parameter in an arena
    /// keeps its gradient in its slot of the arena's flat gradient storage, so the optimizer can update every parameter
    /// in one launch: adopted as is when the closure wrote it there (<see cref="GradientBuffer"/>), else copied in.
    /// </summary>
    internal static void Accumulate(Tensor x, Tensor grad)
    {
        if (!x.RequiresGrad) { grad.Dispose(); return; }
        if (grad.Shape != x.Shape)
            throw new InvalidOperationException($"Gradient of shape {grad.Shape} does not match tensor {x.Shape}: a backward closure is wrong.");
        if (x.Grad == null && x is Parameter { GradSlot: { } slot } p)
        {
            if (ReferenceEquals(grad.Storage, slot)) x.Grad = grad; // written in place (GradientBuffer): nothing to copy
            else if (slot.References > 1) x.Grad = grad;           // the slot is lent to a buffer still being filled (below)
            else
            {
                slot.AddRef(); // the gradient tensor's own reference, released by ZeroGrad
                var inSlot = new Tensor(x.Shape, slot);
                x.Device.Backend.Copy(grad, inSlot);
                grad.Dispose();
                x.Grad = inSlot;
                p.Arena!.GradientCopies++;
            }
        }
        else if (x.Grad == null) x.Grad = grad;
        else if (x is Parameter { GradSlot: { } lent } && ReferenceEquals(grad.Storage, lent) && !ReferenceEquals(x.Grad.Storage, lent))
        {
            // The lent slot arrives after another gradient of this parameter took its place: add that one into the
            // slot and keep the slot (x + y = y + x in IEEE arithmetic, so the bits are those of the other order).
            x.Device.Backend.AddInPlace(grad, x.Grad, 1f);
            x.Grad.Dispose();
            x.Grad = grad;
        }
        else
        {
            x.Device.Backend.AddInPlace(x.Grad, grad, 1f);
            grad.Dispose();
        }
    }

    /// <summary>
    /// x's gradient so far, when a backward closure may add its own contribution to it in place (what
    /// <see cref="Accumulate"/> would do with a separate tensor: no temporary, no extra pass); null when x has none yet
    /// or needs none. The closure must then not call Accumulate for x, and must add in T: old + new, the new value
    /// rounded first, as AddInPlace would.
    /// </summary>
    internal static Tensor? AccumulationTarget(Tensor x) => x.RequiresGrad ? x.Grad : null;

    /// <summary>
    /// Where a backward closure should write <paramref name="x"/>'s gradient before handing it to <see cref="Accumulate"/>:
    /// a view of x's arena gradient slot when x is a parameter whose gradient this pass has not started and whose slot
    /// nobody else holds (backends overwrite their outputs, so the gradient lands in place and Accumulate just adopts
    /// it: no copy), otherwise a new tensor. A closure that asks twice for one parameter (the same tensor as GroupNorm's
    /// weight and bias, a product x·x) gets the slot once and a new tensor the second time, which Accumulate adds.
    /// </summary>
    internal static Tensor GradientBuffer(Tensor x)
    {
        if (x.Grad == null && x is Parameter { GradSlot: { References: 1 } slot })
        {
            slot.AddRef(); // the buffer's own reference; it becomes x.Grad's
            return new Tensor(x.Shape, slot);
        }
        return Tensor.Empty(x.Shape, x.Device);
    }

    /// <summary>
    /// Back-propagates from <paramref name="loss"/> (a one-element tensor unless a seed gradient is given).
    /// Gradients accumulate into leaves; call ZeroGrad between steps.
    /// </summary>
    public void Backward(Tensor loss, Tensor? seed = null)
    {
        if (_disposed) throw new ObjectDisposedException(nameof(Tape));
        if (!loss.RequiresGrad) throw new InvalidOperationException("Backward() on a tensor that does not depend on any parameter.");
        if (seed == null)
        {
            if (loss.Numel != 1) throw new ArgumentException($"Backward() without a seed needs a scalar loss; shape is {loss.Shape}.");
            seed = Tensor.Full(loss.Shape, 1f, loss.Device);
        }
        else seed = seed.Detach();
        using (NoGrad.Scope())
        {
            Accumulate(loss, seed);
            for (int i = _entries.Count - 1; i >= 0; i--)
            {
                var e = _entries[i];
                var g = e.Output.Grad;
                if (g == null) continue;
                e.Backward(g);
                // Non-leaf gradients are not needed once propagated; free them early to bound memory.
                e.Output.Grad = null;
                g.Dispose();
            }
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_current == this) _current = _previous;
        foreach (var e in _entries) e.Output.Producer = null;
        foreach (var t in _owned) t.Dispose();
        _owned.Clear();
        _entries.Clear();
    }
}

/// <summary>A scope in which ops record nothing (sampling, evaluation, optimizer updates).</summary>
public static class NoGrad
{
    public static IDisposable Scope() => new Guard();

    private sealed class Guard : IDisposable
    {
        private bool _done;
        public Guard() => Tape.EnterNoGrad();
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            Tape.ExitNoGrad();
        }
    }
}
