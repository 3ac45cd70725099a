using AmbientNative.Autograd;
using AmbientNative.Nn;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Nn;

/// <summary>
/// The tiny U-Net against NVlabs/edm's own SongUNet in PyTorch: benchmarks/anchors/unet_reference.py imports EDM's
/// training/networks.py, changes only the down-sampling conv0 (stride 2, as documented on <see cref="UNetBlock"/>),
/// fills every parameter and the input from a closed-form hash, runs float64 and prints what is pasted below.
/// Matching EDM's parameter list proves a PyTorch SongUNet loads our weights by name; matching its output proves
/// the forward is the same function (sin/cos order, qkv channel layout, skip order, resampling, norms, scales).
/// </summary>
public class UNetTorchAnchorTests
{
    // ---- pasted from: python3 benchmarks/anchors/unet_reference.py --edm <NVlabs/edm checkout> ----------------
    // torch 2.11.0+cu130, float64, NVlabs/edm SongUNet, 189491 parameters
    private static readonly double[] TorchSamples = [-0.1579871360671864, -0.4119703229865209, 0.1613539444129768, 0.3755831985940644, 0.3123351691160785, 0.03258122830016174, -0.02801329083107254, -0.42093119000363405, -0.31656230580020767, 0.2225111678617076, 0.19472916627870995, 0.1656192332185669, 0.2736271579857188, 0.21811684204476867, -0.07726998748154229, -0.561129389484875, 0.014760252965651532, -0.3998135479337068, 0.05075777644133836, -0.3440412844285843, -0.09069565737039285, -0.02377578689543927, 0.2328216295352281, 0.5340658961260063, 0.3037000459547554, 0.29777630031025915]; // y.flatten()[::61]
    private static readonly double[] TorchChannelMeans = [-0.0578942473542972, -0.08927273001222605, 0.1580579480787449, -0.017209144964523145, -0.06268837029078037, 0.1821955822379452];
    private static readonly double[] TorchChannelRms = [0.2578274569844295, 0.29054561419307656, 0.27940917631840895, 0.2744696547246629, 0.26862224335422563, 0.3072180350622523];

    /// <summary>EDM's named_parameters() for the tiny shape: "name [shape]", in order.</summary>
    private const string EdmNames = """
        map_layer0.weight [64, 16]
        map_layer0.bias [64]
        map_layer1.weight [64, 64]
        map_layer1.bias [64]
        enc.16x16_conv.weight [16, 4, 3, 3]
        enc.16x16_conv.bias [16]
        enc.16x16_block0.norm0.weight [16]
        enc.16x16_block0.norm0.bias [16]
        enc.16x16_block0.conv0.weight [16, 16, 3, 3]
        enc.16x16_block0.conv0.bias [16]
        enc.16x16_block0.affine.weight [16, 64]
        enc.16x16_block0.affine.bias [16]
        enc.16x16_block0.norm1.weight [16]
        enc.16x16_block0.norm1.bias [16]
        enc.16x16_block0.conv1.weight [16, 16, 3, 3]
        enc.16x16_block0.conv1.bias [16]
        enc.8x8_down.norm0.weight [16]
        enc.8x8_down.norm0.bias [16]
        enc.8x8_down.conv0.weight [16, 16, 3, 3]
        enc.8x8_down.conv0.bias [16]
        enc.8x8_down.affine.weight [16, 64]
        enc.8x8_down.affine.bias [16]
        enc.8x8_down.norm1.weight [16]
        enc.8x8_down.norm1.bias [16]
        enc.8x8_down.conv1.weight [16, 16, 3, 3]
        enc.8x8_down.conv1.bias [16]
        enc.8x8_down.skip.weight [16, 16, 1, 1]
        enc.8x8_down.skip.bias [16]
        enc.8x8_block0.norm0.weight [16]
        enc.8x8_block0.norm0.bias [16]
        enc.8x8_block0.conv0.weight [32, 16, 3, 3]
        enc.8x8_block0.conv0.bias [32]
        enc.8x8_block0.affine.weight [32, 64]
        enc.8x8_block0.affine.bias [32]
        enc.8x8_block0.norm1.weight [32]
        enc.8x8_block0.norm1.bias [32]
        enc.8x8_block0.conv1.weight [32, 32, 3, 3]
        enc.8x8_block0.conv1.bias [32]
        enc.8x8_block0.skip.weight [32, 16, 1, 1]
        enc.8x8_block0.skip.bias [32]
        enc.8x8_block0.norm2.weight [32]
        enc.8x8_block0.norm2.bias [32]
        enc.8x8_block0.qkv.weight [96, 32, 1, 1]
        enc.8x8_block0.qkv.bias [96]
        enc.8x8_block0.proj.weight [32, 32, 1, 1]
        enc.8x8_block0.proj.bias [32]
        dec.8x8_in0.norm0.weight [32]
        dec.8x8_in0.norm0.bias [32]
        dec.8x8_in0.conv0.weight [32, 32, 3, 3]
        dec.8x8_in0.conv0.bias [32]
        dec.8x8_in0.affine.weight [32, 64]
        dec.8x8_in0.affine.bias [32]
        dec.8x8_in0.norm1.weight [32]
        dec.8x8_in0.norm1.bias [32]
        dec.8x8_in0.conv1.weight [32, 32, 3, 3]
        dec.8x8_in0.conv1.bias [32]
        dec.8x8_in0.norm2.weight [32]
        dec.8x8_in0.norm2.bias [32]
        dec.8x8_in0.qkv.weight [96, 32, 1, 1]
        dec.8x8_in0.qkv.bias [96]
        dec.8x8_in0.proj.weight [32, 32, 1, 1]
        dec.8x8_in0.proj.bias [32]
        dec.8x8_in1.norm0.weight [32]
        dec.8x8_in1.norm0.bias [32]
        dec.8x8_in1.conv0.weight [32, 32, 3, 3]
        dec.8x8_in1.conv0.bias [32]
        dec.8x8_in1.affine.weight [32, 64]
        dec.8x8_in1.affine.bias [32]
        dec.8x8_in1.norm1.weight [32]
        dec.8x8_in1.norm1.bias [32]
        dec.8x8_in1.conv1.weight [32, 32, 3, 3]
        dec.8x8_in1.conv1.bias [32]
        dec.8x8_block0.norm0.weight [64]
        dec.8x8_block0.norm0.bias [64]
        dec.8x8_block0.conv0.weight [32, 64, 3, 3]
        dec.8x8_block0.conv0.bias [32]
        dec.8x8_block0.affine.weight [32, 64]
        dec.8x8_block0.affine.bias [32]
        dec.8x8_block0.norm1.weight [32]
        dec.8x8_block0.norm1.bias [32]
        dec.8x8_block0.conv1.weight [32, 32, 3, 3]
        dec.8x8_block0.conv1.bias [32]
        dec.8x8_block0.skip.weight [32, 64, 1, 1]
        dec.8x8_block0.skip.bias [32]
        dec.8x8_block1.norm0.weight [48]
        dec.8x8_block1.norm0.bias [48]
        dec.8x8_block1.conv0.weight [32, 48, 3, 3]
        dec.8x8_block1.conv0.bias [32]
        dec.8x8_block1.affine.weight [32, 64]
        dec.8x8_block1.affine.bias [32]
        dec.8x8_block1.norm1.weight [32]
        dec.8x8_block1.norm1.bias [32]
        dec.8x8_block1.conv1.weight [32, 32, 3, 3]
        dec.8x8_block1.conv1.bias [32]
        dec.8x8_block1.skip.weight [32, 48, 1, 1]
        dec.8x8_block1.skip.bias [32]
        dec.8x8_block1.norm2.weight [32]
        dec.8x8_block1.norm2.bias [32]
        dec.8x8_block1.qkv.weight [96, 32, 1, 1]
        dec.8x8_block1.qkv.bias [96]
        dec.8x8_block1.proj.weight [32, 32, 1, 1]
        dec.8x8_block1.proj.bias [32]
        dec.16x16_up.norm0.weight [32]
        dec.16x16_up.norm0.bias [32]
        dec.16x16_up.conv0.weight [32, 32, 3, 3]
        dec.16x16_up.conv0.bias [32]
        dec.16x16_up.affine.weight [32, 64]
        dec.16x16_up.affine.bias [32]
        dec.16x16_up.norm1.weight [32]
        dec.16x16_up.norm1.bias [32]
        dec.16x16_up.conv1.weight [32, 32, 3, 3]
        dec.16x16_up.conv1.bias [32]
        dec.16x16_up.skip.weight [32, 32, 1, 1]
        dec.16x16_up.skip.bias [32]
        dec.16x16_block0.norm0.weight [48]
        dec.16x16_block0.norm0.bias [48]
        dec.16x16_block0.conv0.weight [16, 48, 3, 3]
        dec.16x16_block0.conv0.bias [16]
        dec.16x16_block0.affine.weight [16, 64]
        dec.16x16_block0.affine.bias [16]
        dec.16x16_block0.norm1.weight [16]
        dec.16x16_block0.norm1.bias [16]
        dec.16x16_block0.conv1.weight [16, 16, 3, 3]
        dec.16x16_block0.conv1.bias [16]
        dec.16x16_block0.skip.weight [16, 48, 1, 1]
        dec.16x16_block0.skip.bias [16]
        dec.16x16_block1.norm0.weight [32]
        dec.16x16_block1.norm0.bias [32]
        dec.16x16_block1.conv0.weight [16, 32, 3, 3]
        dec.16x16_block1.conv0.bias [16]
        dec.16x16_block1.affine.weight [16, 64]
        dec.16x16_block1.affine.bias [16]
        dec.16x16_block1.norm1.weight [16]
        dec.16x16_block1.norm1.bias [16]
        dec.16x16_block1.conv1.weight [16, 16, 3, 3]
        dec.16x16_block1.conv1.bias [16]
        dec.16x16_block1.skip.weight [16, 32, 1, 1]
        dec.16x16_block1.skip.bias [16]
        dec.16x16_aux_norm.weight [16]
        dec.16x16_aux_norm.bias [16]
        dec.16x16_aux_conv.weight [3, 16, 3, 3]
        dec.16x16_aux_conv.bias [3]
        """;

    /// <summary>frac(sin(12.9898 i + 78.233 k) · 43758.5453) · 2 − 1 in double, rounded to float32 (as the script).</summary>
    private static float[] Hashed(int n, int k)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            double s = Math.Sin(12.9898 * i + 78.233 * k) * 43758.5453;
            v[i] = (float)((s - Math.Floor(s)) * 2 - 1);
        }
        return v;
    }

    [Test]
    public void Parameter_names_order_and_shapes_are_EDMs_state_dict()
    {
        using var net = new UNet(UNetConfig.Tiny);
        var ours = net.Parameters().Select(p => $"{p.Name} {p.Shape}").ToArray();
        var edm = EdmNames.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        Assert.That(ours, Is.EqualTo(edm));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Forward_matches_EDMs_SongUNet_in_PyTorch(bool referenceDevice)
    {
        var device = referenceDevice ? Device.CpuReference : Device.Cpu;
        using var net = new UNet(UNetConfig.Tiny with { Dropout = 0f }, device);
        int k = 0;
        foreach (var p in net.Parameters())
        {
            var v = Hashed(p.Numel, k++);
            // Same fill as the script, in float32: weights / √fan_in, GroupNorm scales 1 + 0.3 v, biases 0.3 v.
            float scale = p.Rank >= 2 ? 1f / MathF.Sqrt(p.Numel / p.Shape[0]) : 0.3f;
            float offset = p.Rank == 1 && p.Name.EndsWith(".weight") ? 1f : 0f;
            for (int i = 0; i < v.Length; i++) v[i] = offset + scale * v[i];
            p.Storage.CopyFrom(v);
        }
        using var tape = new Tape();
        using var noGrad = NoGrad.Scope();
        var x = Tape.Own(Tensor.FromArray(Hashed(2 * 4 * 16 * 16, 1000), new Shape(2, 4, 16, 16), device));
        var labels = Tape.Own(Tensor.FromArray([-1.3f, 0.8f], new Shape(2), device));
        var y = net.Forward(x, labels).ToArray();

        var samples = Enumerable.Range(0, TorchSamples.Length).Select(i => y[61 * i]).ToArray();
        Check.Close(samples, TorchSamples, 1e-5, "every 61st output");
        var means = new double[6];
        var rms = new double[6];
        for (int nc = 0; nc < 6; nc++)
        {
            for (int i = 0; i < 256; i++) { means[nc] += y[nc * 256 + i] / 256.0; rms[nc] += y[nc * 256 + i] * (double)y[nc * 256 + i] / 256.0; }
            rms[nc] = Math.Sqrt(rms[nc]);
        }
        Check.Close(means, TorchChannelMeans, 1e-5, "per-channel means");
        Check.Close(rms, TorchChannelRms, 1e-5, "per-channel RMS");
    }
}
