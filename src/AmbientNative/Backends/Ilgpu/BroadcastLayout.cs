using AmbientNative.Backends.Cuda;
using AmbientNative.Tensors;

namespace AmbientNative.Backends.Ilgpu;

/// <summary>
/// The broadcast of a and b to y as the ILGPU kernels index it: the CUDA kernels' merged geometry
/// (<see cref="CudaBackend.BroadcastGeometry"/>, shared so both GPU paths walk the same dimensions) flattened into
/// one int array [dims, output strides, a strides, b strides], each <see cref="Rank"/> long.
/// </summary>
internal readonly record struct BroadcastLayout(int[] Geometry, int Rank)
{
    public static unsafe BroadcastLayout Of(Shape a, Shape b, Shape y)
    {
        var p = CudaBackend.BroadcastGeometry(a, b, y);
        int r = p.Rank;
        var g = new int[4 * r];
        for (int k = 0; k < r; k++)
        {
            g[k] = p.Dims[k];
            g[r + k] = p.So[k];
            g[2 * r + k] = p.Sa[k];
            g[3 * r + k] = p.Sb[k];
        }
        return new BroadcastLayout(g, r);
    }
}
