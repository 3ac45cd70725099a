namespace AmbientNative.Backends.Cpu;

public partial class FastCpuBackend
{
    /// <summary>
    /// No: the SIMD GEMMs + softmax composition is faster here than the scalar fused loops this backend inherits from
    /// the reference (the fused op still works on it when called directly).
    /// </summary>
    public override bool PrefersFusedAttention(AttentionGeometry g) => false;
}
