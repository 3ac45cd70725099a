using AmbientNative.Autograd;
using AmbientNative.Tensors;

namespace AmbientNative.Nn;

/// <summary>
/// EDM's weight initialisation. Values are drawn on the host from a seeded <see cref="Rng"/> and copied to the
/// parameter's device, so a seed gives bit-identical weights on every device. Layers draw in construction order
/// from one generator, so the whole network is a pure function of (config, seed).
/// </summary>
public static class Init
{
    /// <summary>EDM's three gains, all on top of xavier_uniform: the default, "init_zero" and "init_attn".</summary>
    public const float Default = 1f;
    /// <summary>Near-zero (not zero: gradients still reach every weight) for layers that end a residual branch.</summary>
    public const float Zero = 1e-5f;
    /// <summary>√0.2 for the attention's qkv projection.</summary>
    public static readonly float Attention = MathF.Sqrt(0.2f);

    /// <summary>w ~ gain·√(6 / (fanIn + fanOut))·U(−1, 1) (Glorot/Xavier uniform, as torch's xavier_uniform_).</summary>
    public static void XavierUniform(Parameter p, int fanIn, int fanOut, float gain, Rng rng)
    {
        var host = new float[p.Numel];
        rng.FillUniform(host, -1f, 1f);
        float a = gain * MathF.Sqrt(6f / (fanIn + fanOut));
        for (int i = 0; i < host.Length; i++) host[i] *= a;
        p.Storage.CopyFrom(host);
    }

    public static void Constant(Parameter p, float value) => p.Device.Backend.Fill(p, value);
}
