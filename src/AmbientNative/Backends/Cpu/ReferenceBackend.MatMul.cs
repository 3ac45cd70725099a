using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Cpu;

public partial class ReferenceBackend
{
    public virtual void Gemm(Tensor a, Tensor b, Tensor c, GemmArgs args) => MatMulRef.Gemm<float>(R(a), R(b), S(c), args);

    public virtual void BroadcastRows(Tensor bias, Tensor y) => MatMulRef.BroadcastRows<float>(R(bias), S(y));

    public virtual void SumRows(Tensor gy, Tensor gbias) => MatMulRef.SumRows<float>(R(gy), S(gbias));
}
