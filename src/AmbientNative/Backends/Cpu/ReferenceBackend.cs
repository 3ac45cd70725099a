using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

/// <summary>
/// The specification: every op as plain loops (see Reference/), instantiated at float. Partial: each op
/// family adds its methods in ReferenceBackend.&lt;Family&gt;.cs. Methods are virtual so that
/// <see cref="FastCpuBackend"/> can replace the hot ones.
/// </summary>
public partial class ReferenceBackend : IBackend
{
    public virtual string Name => "cpu-reference";

    public Storage Allocate(int length) => new CpuStorage(length, DeviceFor());

    /// <summary>The device this backend serves (the two CPU devices differ only in backend).</summary>
    protected virtual Device DeviceFor() => Device.CpuReference;

    public virtual void Fill(Tensor y, float value) => S(y).Fill(value);

    public virtual void Copy(Tensor x, Tensor y) => R(x).CopyTo(S(y));

    public virtual void AddInPlace(Tensor y, Tensor x, float alpha)
    {
        var ys = S(y);
        var xs = R(x);
        for (int i = 0; i < ys.Length; i++) ys[i] += alpha * xs[i];
    }

    public void Synchronize() { }

    /// <summary>Writable host span of a CPU tensor.</summary>
    protected static Span<float> S(Tensor t) => t.Storage is CpuStorage c
        ? c.Span
        : throw new InvalidOperationException($"The CPU backend got a tensor {t.Shape} on {t.Device}.");

    /// <summary>Read-only host span of a CPU tensor.</summary>
    protected static ReadOnlySpan<float> R(Tensor t) => S(t);

    /// <summary>Read-only span of an optional tensor (empty when null).</summary>
    protected static ReadOnlySpan<float> ROpt(Tensor? t) => t == null ? default : S(t);

    /// <summary>Writable span of an optional output (empty when null: not wanted).</summary>
    protected static Span<float> SOpt(Tensor? t) => t == null ? default : S(t);
}
