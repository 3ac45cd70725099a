using AmbientNative.Tensors;

namespace AmbientNative.Backends;

public partial interface IBackend
{
    /// <summary>Nearest-neighbour ×2: x [N, C, H, W] → y [N, C, 2H, 2W].</summary>
    void Upsample2x(Tensor x, Tensor y);
    /// <summary>gx [N, C, H, W] from gy [N, C, 2H, 2W].</summary>
    void Upsample2xBackward(Tensor gy, Tensor gx);
    /// <summary>2×2 average pool, stride 2: x [N, C, H, W] → y [N, C, H/2, W/2] (rounded down, as PyTorch).</summary>
    void AvgPool2x(Tensor x, Tensor y);
    /// <summary>gx [N, C, H, W] (zero on a dropped odd last row or column) from gy [N, C, H/2, W/2].</summary>
    void AvgPool2xBackward(Tensor gy, Tensor gx);
}
