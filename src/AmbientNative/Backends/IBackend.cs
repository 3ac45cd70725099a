using AmbientNative.Tensors;

namespace AmbientNative.Backends;

/// <summary>
/// The op surface every backend implements. Methods work on raw tensors of this backend's device: outputs are
/// preallocated by the caller and fully overwritten (never read). Autograd lives above, in
/// <see cref="Autograd.Ops"/>. The interface is partial: each op family declares its methods in its own file
/// (IBackend.&lt;Family&gt;.cs) next to the reference implementation.
/// </summary>
public partial interface IBackend
{
    /// <summary>A short name for messages and benchmarks, e.g. "cpu-reference", "cpu-fast", "cuda".</summary>
    string Name { get; }

    /// <summary>Uninitialised storage of <paramref name="length"/> floats on this backend's device.</summary>
    Storage Allocate(int length);

    void Fill(Tensor y, float value);
    void Copy(Tensor x, Tensor y);

    /// <summary>y += alpha·x (same shape). Used to accumulate gradients.</summary>
    void AddInPlace(Tensor y, Tensor x, float alpha);

    /// <summary>Waits for queued work (no-op on the CPU). Timings and host reads call it.</summary>
    void Synchronize();
}
