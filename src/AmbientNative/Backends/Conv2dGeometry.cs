namespace AmbientNative.Backends;

/// <summary>Shape of a 2-D convolution: x [N, Cin, H, W] * w [Cout, Cin, K, K] → y [N, Cout, OutH, OutW].</summary>
public readonly record struct Conv2dGeometry(int N, int Cin, int H, int W, int Cout, int K, int Stride, int Pad)
{
    public int OutH => (H + 2 * Pad - K) / Stride + 1;
    public int OutW => (W + 2 * Pad - K) / Stride + 1;
    public int InputSize => N * Cin * H * W;
    public int WeightSize => Cout * Cin * K * K;
    public int OutputSize => N * Cout * OutH * OutW;
    /// <summary>Multiply-adds × 2 of the forward pass (the same count holds for each backward pass).</summary>
    public double Flops => 2.0 * N * Cout * OutH * OutW * Cin * K * K;

    public void Validate()
    {
        if (N <= 0 || Cin <= 0 || H <= 0 || W <= 0 || Cout <= 0 || K <= 0 || Stride <= 0 || Pad < 0)
            throw new ArgumentException($"Invalid convolution geometry {this}.");
        if (OutH <= 0 || OutW <= 0)
            throw new ArgumentException($"Convolution {this} produces an empty output.");
    }
}
