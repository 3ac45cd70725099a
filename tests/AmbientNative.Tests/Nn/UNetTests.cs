using System.Diagnostics;
using System.Text.RegularExpressions;
using AmbientNative.Autograd;
using AmbientNative.Nn;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Nn;

public class UNetTests
{
    // A smaller tiny for the finite-difference checks: 8×8 images, attention at the 4×4 level.
    private static UNetConfig Small(bool gated = false) =>
        UNetConfig.Tiny with { Resolution = 8, AttentionResolutions = [4], Dropout = 0f, GatedConvolutions = gated };

    private static (Tensor X, Tensor Labels) Inputs(UNetConfig c, int n, Rng rng, Device device) =>
        (Tape.Own(Tensor.Randn(new Shape(n, c.InChannels, c.Resolution, c.Resolution), rng, device)),
         Tape.Own(Tensor.Randn(new Shape(n), rng, device)));

    /// <summary>
    /// Redraws every parameter at unit-ish scale (weights ~ N(0, 1/fan_in), GroupNorm weights 1 ± 0.3, biases ± 0.3).
    /// EDM's init makes conv1, proj and aux_conv ~1e-5, which hides everything upstream of them from a float32
    /// finite difference; random weights make every path contribute.
    /// </summary>
    internal static void Randomize(Module m, Rng rng)
    {
        foreach (var p in m.Parameters())
        {
            var v = new float[p.Numel];
            rng.FillNormal(v);
            float scale = p.Rank >= 2 ? 1f / MathF.Sqrt(p.Numel / p.Shape[0]) : 0.3f;
            float offset = p.Rank == 1 && p.Name.EndsWith(".weight") ? 1f : 0f;
            for (int i = 0; i < v.Length; i++) v[i] = offset + scale * v[i];
            p.Storage.CopyFrom(v);
        }
    }

    /// <summary>Σ g ⊙ F(x, labels) in double, without recording.</summary>
    private static double Loss(UNet net, Tensor x, Tensor labels, float[] g)
    {
        using var tape = new Tape();
        using var noGrad = NoGrad.Scope();
        var y = net.Forward(x, labels).ToArray();
        double s = 0;
        for (int i = 0; i < y.Length; i++) s += (double)g[i] * y[i];
        return s;
    }

    /// <summary>Back-propagates Σ g ⊙ F into the parameters' Grad (and returns F).</summary>
    private static float[] Backward(UNet net, Tensor x, Tensor labels, float[] g)
    {
        net.ZeroGrad();
        using var tape = new Tape();
        var y = net.Forward(x, labels);
        tape.Backward(y, Tape.Own(Tensor.FromArray(g, y.Shape, y.Device)));
        return y.ToArray();
    }

    // ---- structure ---------------------------------------------------------------------------------------------

    /// <summary>Parameter count of EDM's SongUNet (DDPM++) written out independently of the layout code.</summary>
    private static long CountFormula(UNetConfig c)
    {
        int e = c.EmbeddingChannels, g = c.GatedConvolutions ? 2 : 1;
        long Conv(int i, int o, int k) => (long)g * i * o * k * k + o;
        long Lin(int i, int o) => (long)i * o + o;
        long Norm(int ch) => 2L * ch;
        long Block(int i, int o, bool attn, bool resample) =>
            Norm(i) + Conv(i, o, 3) + Lin(e, o) + Norm(o) + Conv(o, o, 3)
            + (i != o || resample ? Conv(i, o, 1) : 0)
            + (attn ? Norm(o) + Conv(o, 3 * o, 1) + Conv(o, o, 1) : 0);

        var mults = c.ChannelMultipliers;
        int levels = mults.Count, b = c.BaseChannels, nb = c.BlocksPerLevel;
        bool Attn(int level) => c.AttentionResolutions.Contains(c.Resolution >> level);
        long total = Lin(b, e) + Lin(e, e) + Conv(c.InChannels, b, 3);
        // Encoder: level 0 goes b → b·m0, then b·m0 → b·m0; level l > 0 has a down block and b·m(l−1) → b·m(l), …
        for (int l = 0; l < levels; l++)
        {
            int prev = l == 0 ? b : b * mults[l - 1], ch = b * mults[l];
            if (l > 0) total += Block(prev, prev, false, true);
            total += Block(prev, ch, Attn(l), false) + (nb - 1) * Block(ch, ch, Attn(l), false);
        }
        // Decoder: in0 (attention) and in1 at the bottom, an up block elsewhere; nb + 1 blocks eating the skips:
        // the encoder's outputs at this level in reverse (nb blocks of b·m(l)), then the level's entry (the down
        // block's output b·m(l−1), or the first conv's b at level 0).
        int cur = b * mults[levels - 1];
        total += Block(cur, cur, true, false) + Block(cur, cur, false, false);
        for (int l = levels - 1; l >= 0; l--)
        {
            int ch = b * mults[l], entry = l == 0 ? b : b * mults[l - 1];
            if (l < levels - 1) total += Block(cur, cur, false, true);
            for (int i = 0; i <= nb; i++)
            {
                int skip = i < nb ? ch : entry;
                total += Block(cur + skip, ch, i == nb && Attn(l), false);
                cur = ch;
            }
        }
        return total + Norm(cur) + Conv(cur, c.OutChannels, 3);
    }

    public static IEnumerable<TestCaseData> CountCases()
    {
        yield return new TestCaseData("tiny", UNetConfig.Tiny).SetArgDisplayNames("tiny");
        yield return new TestCaseData("reference", UNetConfig.Reference).SetArgDisplayNames("reference");
        yield return new TestCaseData("edm-cifar", UNetConfig.EdmCifar).SetArgDisplayNames("edm-cifar");
        yield return new TestCaseData("edm-cifar, 3 input channels", UNetConfig.EdmCifar with { MaskChannels = 0 }).SetArgDisplayNames("edm-cifar, 3 input channels");
        yield return new TestCaseData("reference, gated", UNetConfig.Reference with { GatedConvolutions = true }).SetArgDisplayNames("reference, gated");
        yield return new TestCaseData("4 levels, 3 blocks", UNetConfig.Tiny with
        {
            Resolution = 32, BaseChannels = 8, ChannelMultipliers = [1, 2, 3, 4], BlocksPerLevel = 3, AttentionResolutions = [16, 4],
        }).SetArgDisplayNames("4 levels, 3 blocks");
    }

    [TestCaseSource(nameof(CountCases))]
    public void Parameter_count_matches_an_independent_formula(string name, UNetConfig config)
    {
        using var net = new UNet(config);
        long count = net.ParameterCount();
        TestContext.Out.WriteLine($"{name}: {count:N0} parameters ({count / 1e6:F2} M)");
        Assert.That(count, Is.EqualTo(CountFormula(config)));
    }

    [Test]
    public void Reference_preset_has_7_0_M_parameters_and_edm_cifar_has_EDMs_55_7_M()
    {
        using (var reference = new UNet(UNetConfig.Reference))
        {
            TestContext.Out.WriteLine($"reference: {reference.ParameterCount():N0} parameters");
            // The issue estimated "about 6.2 M"; EDM's block structure gives 6.99 M (6.27 M without the two
            // bottleneck blocks in0/in1). We follow EDM.
            Assert.That(reference.ParameterCount(), Is.EqualTo(6_990_467));
        }
        // EDM's unconditional CIFAR-10 DDPM++ (3 input channels): 55.73 M.
        using var cifar = new UNet(UNetConfig.EdmCifar with { MaskChannels = 0 });
        Assert.That(cifar.ParameterCount(), Is.EqualTo(55_732_739));
    }

    [Test]
    public void Tiny_layout_is_EDMs_SongUNet()
    {
        string Row(UNet.BlockSpec b) =>
            $"{(b.Decoder ? "dec" : "enc")}.{b.Name} {b.InChannels}->{b.OutChannels}{(b.Resample != Resample.None ? " " + b.Resample : "")}{(b.Attention ? " attn" : "")}";
        Assert.That(UNet.Layout(UNetConfig.Tiny).Select(Row), Is.EqualTo(new[]
        {
            "enc.16x16_block0 16->16",
            "enc.8x8_down 16->16 Down",
            "enc.8x8_block0 16->32 attn",
            "dec.8x8_in0 32->32 attn",
            "dec.8x8_in1 32->32",
            "dec.8x8_block0 64->32",      // + enc.8x8_block0
            "dec.8x8_block1 48->32 attn", // + enc.8x8_down
            "dec.16x16_up 32->32 Up",
            "dec.16x16_block0 48->16",    // + enc.16x16_block0
            "dec.16x16_block1 32->16",    // + enc.16x16_conv
        }));
    }

    [Test]
    public void Names_are_unique_PyTorch_style_state_dict_keys()
    {
        using var net = new UNet(UNetConfig.Tiny with { GatedConvolutions = true });
        var ps = net.Parameters().ToList();
        var names = ps.Select(p => p.Name).ToList();
        Assert.That(names, Is.Unique);
        foreach (var n in names) Assert.That(n, Does.Match(@"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)+$"), n);
        Shape ShapeOf(string name) => ps.Single(p => p.Name == name).Shape;
        Assert.That(names.Take(5), Is.EqualTo(new[]
        {
            "map_layer0.weight", "map_layer0.bias", "map_layer1.weight", "map_layer1.bias", "enc.16x16_conv.weight",
        }));
        Assert.That(names[^2..], Is.EqualTo(new[] { "dec.16x16_aux_conv.bias", "dec.16x16_aux_conv.gate_weight" }));
        Assert.That(ShapeOf("map_layer0.weight"), Is.EqualTo(new Shape(64, 16)));
        Assert.That(ShapeOf("enc.16x16_conv.weight"), Is.EqualTo(new Shape(16, 4, 3, 3)));
        Assert.That(ShapeOf("enc.16x16_conv.gate_weight"), Is.EqualTo(new Shape(16, 4, 3, 3)));
        Assert.That(ShapeOf("enc.8x8_down.conv0.weight"), Is.EqualTo(new Shape(16, 16, 3, 3)));
        Assert.That(ShapeOf("enc.8x8_down.skip.weight"), Is.EqualTo(new Shape(16, 16, 1, 1)));
        Assert.That(ShapeOf("enc.8x8_block0.affine.weight"), Is.EqualTo(new Shape(32, 64)));
        Assert.That(ShapeOf("enc.8x8_block0.qkv.weight"), Is.EqualTo(new Shape(96, 32, 1, 1)));
        Assert.That(ShapeOf("dec.8x8_in0.norm2.weight"), Is.EqualTo(new Shape(32)));
        Assert.That(ShapeOf("dec.8x8_in0.proj.bias"), Is.EqualTo(new Shape(32)));
        Assert.That(ShapeOf("dec.16x16_block0.norm0.weight"), Is.EqualTo(new Shape(48)));
        Assert.That(ShapeOf("dec.16x16_aux_norm.weight"), Is.EqualTo(new Shape(16)));
        Assert.That(ShapeOf("dec.16x16_aux_conv.weight"), Is.EqualTo(new Shape(3, 16, 3, 3)));
        Assert.That(names, Has.None.Contains("enc.16x16_block0.skip"), "no skip conv when channels and size are kept");
        Assert.That(names, Has.None.Contains("dec.8x8_in1.qkv"));
    }

    [Test]
    public void EDM_initialisation_scales_each_layer_kind()
    {
        using var net = new UNet(UNetConfig.Tiny, seed: 3);
        double MaxAbs(string name) => net.Parameters().Single(p => p.Name == name).ToArray().Max(v => Math.Abs((double)v));
        double Bound(int fanIn, int fanOut) => Math.Sqrt(6.0 / (fanIn + fanOut));
        // Loose lower bounds: the largest of many U(−b, b) draws is close to b.
        Assert.That(MaxAbs("enc.16x16_conv.weight"), Is.InRange(0.9 * Bound(4 * 9, 16 * 9), Bound(4 * 9, 16 * 9)));
        Assert.That(MaxAbs("map_layer1.weight"), Is.InRange(0.9 * Bound(64, 64), Bound(64, 64)));
        double conv1 = 1e-5 * Bound(16 * 9, 16 * 9);
        Assert.That(MaxAbs("enc.16x16_block0.conv1.weight"), Is.InRange(0.9 * conv1, conv1), "init_zero");
        Assert.That(MaxAbs("dec.16x16_aux_conv.weight"), Is.LessThanOrEqualTo(1e-5 * Bound(16 * 9, 3 * 9)), "init_zero");
        double qkv = Math.Sqrt(0.2) * Bound(32, 96);
        Assert.That(MaxAbs("enc.8x8_block0.qkv.weight"), Is.InRange(0.9 * qkv, qkv), "init_attn");
        foreach (var p in net.Parameters().Where(p => p.Name.EndsWith(".bias")))
            Assert.That(p.ToArray().All(v => v == 0f), p.Name);
    }

    // ---- forward -----------------------------------------------------------------------------------------------

    [TestCase("tiny", 2)]
    [TestCase("reference", 1)]
    public void Preset_forward_gives_the_output_shape(string preset, int n)
    {
        var config = UNetConfig.Preset(preset);
        using var net = new UNet(config, Device.Cpu, seed: 1);
        var sw = Stopwatch.StartNew();
        using var tape = new Tape();
        using var noGrad = NoGrad.Scope();
        var (x, labels) = Inputs(config, n, Rand.ForTest(), Device.Cpu);
        var y = net.Forward(x, labels);
        Assert.That(y.Shape, Is.EqualTo(new Shape(n, 3, config.Resolution, config.Resolution)));
        Assert.That(y.ToArray().All(float.IsFinite));
        TestContext.Out.WriteLine($"{preset}: forward of {n} image(s) on {Device.Cpu} in {sw.ElapsedMilliseconds} ms");
    }

    [Test]
    public void Edm_cifar_constructs()
    {
        using var net = new UNet(UNetConfig.EdmCifar);
        Assert.That((net.InChannels, net.OutChannels, net.Resolution), Is.EqualTo((4, 3, 32)));
        Assert.That(net.DecoderBlocks.Count(b => b.HasAttention), Is.EqualTo(2), "in0 and the last 16×16 block");
        Assert.That(net.EncoderBlocks.Count(b => b.HasAttention), Is.EqualTo(4), "every 16×16 encoder block");
    }

    [Test]
    public void Tiny_forward_and_backward_on_the_fast_cpu_have_no_NaN_and_reach_every_parameter()
    {
        var config = UNetConfig.Tiny with { GatedConvolutions = true };
        using var net = new UNet(config, Device.Cpu, seed: 2);
        var rng = Rand.ForTest();
        using var tape = new Tape();
        var (x, labels) = Inputs(config, 2, rng, Device.Cpu);
        var loss = Ops_.Mean(Ops_.Square(net.Forward(x, labels)));
        tape.Backward(loss);
        Assert.That(float.IsFinite(loss.Item()));
        foreach (var p in net.Parameters())
        {
            Assert.That(p.Grad, Is.Not.Null, p.Name);
            var g = p.Grad!.ToArray();
            Assert.That(g.All(float.IsFinite), $"{p.Name}: non-finite gradient");
            Assert.That(g.Any(v => v != 0f), $"{p.Name}: all-zero gradient");
        }
    }

    // ---- gradients ---------------------------------------------------------------------------------------------

    // The engine is float32 only, so the whole network cannot be checked in float64 (each op's backward is, element
    // by element, in its own test). What this checks is the composition: every parameter tensor's gradient G from
    // the tape against central differences of the float32 forward, L = Σ g ⊙ F summed in double. The step is
    // along G itself, sized so that the predicted change 2t·‖G‖ is δ = 1e-2: that is the direction with the most
    // first-order signal per step, so both float32 rounding of L (~2e-5 here) and the O(t²) curvature term stay
    // near 3e-3 of δ, whereas a random direction of any useful size is swamped by curvature for the tensors that
    // barely move the output. A wrong G fails unless its error is orthogonal to G. Perturbed values are used as
    // rounded to float32. Weights are redrawn (see Randomize) and dropout is off. Runs on Device.CpuReference.
    [TestCase(false, TestName = "Gradient_of_every_parameter_tensor_matches_central_differences")]
    [TestCase(true, TestName = "Gradient_of_every_gate_weight_matches_central_differences")]
    public void Gradient_check(bool gated)
    {
        var config = Small(gated);
        var device = Device.CpuReference;
        var rng = Rand.ForTest();
        using var net = new UNet(config, device, seed: 4);
        Randomize(net, rng);
        using var data = new Tape();
        var (x, labels) = Inputs(config, 2, rng, device);
        var g = Check.ToFloat(Rand.Normal(rng, 2 * config.OutChannels * config.Resolution * config.Resolution));
        Backward(net, x, labels, g);

        const double delta = 1e-2;
        var failures = new List<string>();
        double worst = 0;
        // The gated net: its gates only (the other tensors are the plain case's), to keep the test quick.
        var checkedParams = net.Parameters().Where(p => !gated || p.Name.EndsWith("gate_weight")).ToList();
        foreach (var p in checkedParams)
        {
            var p0 = p.ToArray();
            var grad = p.Grad!.ToArray();
            double norm = Math.Sqrt(grad.Sum(v => (double)v * v)), t = delta / (2 * norm);
            float[] plus = new float[p0.Length], minus = new float[p0.Length];
            double predicted = 0;
            for (int i = 0; i < p0.Length; i++)
            {
                plus[i] = (float)(p0[i] + t * grad[i] / norm);
                minus[i] = (float)(p0[i] - t * grad[i] / norm);
                predicted += grad[i] * ((double)plus[i] - minus[i]);
            }
            p.Storage.CopyFrom(plus);
            double lp = Loss(net, x, labels, g);
            p.Storage.CopyFrom(minus);
            double lm = Loss(net, x, labels, g);
            p.Storage.CopyFrom(p0);
            double err = Math.Abs(lp - lm - predicted) / predicted;
            worst = Math.Max(worst, err);
            if (!(err < 1e-2)) failures.Add($"{p.Name}: L(+) − L(−) = {lp - lm:E4}, gradient predicts {predicted:E4} (relative error {err:E2})");
        }
        TestContext.Out.WriteLine($"{checkedParams.Count} tensors, worst relative error {worst:E2}");
        Assert.That(failures, Is.Empty);
    }

    [Test]
    public void Fast_cpu_matches_the_reference_device_forward_and_backward()
    {
        var config = Small(gated: true);
        var rng = Rand.ForTest();
        var results = new List<(float[] Y, float[][] Grads)>();
        foreach (var device in new[] { Device.CpuReference, Device.Cpu })
        {
            using var net = new UNet(config, device, seed: 6);
            Randomize(net, new Rng(7));
            using var data = new Tape();
            var (x, labels) = Inputs(config, 2, new Rng(8), device);
            var g = Check.ToFloat(Rand.Normal(new Rng(9), 2 * 3 * 8 * 8));
            var y = Backward(net, x, labels, g);
            results.Add((y, net.Parameters().Select(p => p.Grad!.ToArray()).ToArray()));
        }
        Check.Close(results[1].Y, results[0].Y, 1e-5, "output");
        for (int k = 0; k < results[0].Grads.Length; k++)
            Check.Close(results[1].Grads[k], results[0].Grads[k], 1e-4, $"gradient of parameter {k}");
    }

    // ---- determinism and modes ---------------------------------------------------------------------------------

    [Test]
    public void Same_seed_gives_identical_weights_and_outputs_different_seed_does_not()
    {
        var config = UNetConfig.Tiny with { Dropout = 0.3f };
        float[] Run(UNet net)
        {
            using var tape = new Tape();
            var (x, labels) = Inputs(config, 2, new Rng(11), Device.Cpu);
            return net.Forward(x, labels).ToArray(); // training mode: dropout masks from the net's seeded stream
        }
        using var a = new UNet(config, Device.Cpu, seed: 42);
        using var b = new UNet(config, Device.Cpu, seed: 42);
        using var c = new UNet(config, Device.Cpu, seed: 43);
        foreach (var (pa, pb) in a.Parameters().Zip(b.Parameters()))
            Assert.That(pb.ToArray(), Is.EqualTo(pa.ToArray()), pa.Name);
        Assert.That(Run(b), Is.EqualTo(Run(a)));
        Assert.That(c.Parameters().First().ToArray(), Is.Not.EqualTo(a.Parameters().First().ToArray()));
    }

    [Test]
    public void Eval_disables_dropout_and_Train_enables_it()
    {
        var config = UNetConfig.Tiny with { Dropout = 0.5f };
        using var net = new UNet(config, Device.Cpu, seed: 5);
        Randomize(net, new Rng(1)); // so that dropout visibly changes the output
        float[] Run()
        {
            using var tape = new Tape();
            using var noGrad = NoGrad.Scope();
            var (x, labels) = Inputs(config, 1, new Rng(12), Device.Cpu);
            return net.Forward(x, labels).ToArray();
        }
        net.Eval();
        Assert.That(net.EncoderBlocks.Concat(net.DecoderBlocks).All(b => !b.Training));
        ulong counter = net.DropoutRng.Counter;
        var e1 = Run();
        Assert.That(Run(), Is.EqualTo(e1), "deterministic in eval mode");
        Assert.That(net.DropoutRng.Counter, Is.EqualTo(counter), "no masks drawn in eval mode");

        net.Train();
        var t1 = Run();
        var t2 = Run();
        Assert.That(net.DropoutRng.Counter, Is.GreaterThan(counter));
        Assert.That(t1, Is.Not.EqualTo(e1));
        Assert.That(t2, Is.Not.EqualTo(t1), "a fresh mask each forward");
    }

    // ---- errors ------------------------------------------------------------------------------------------------

    public static IEnumerable<TestCaseData> BadConfigs()
    {
        var t = UNetConfig.Tiny;
        yield return new TestCaseData(t with { Resolution = 30, ChannelMultipliers = [1, 2, 2] }, "Resolution", "2^2 = 4").SetArgDisplayNames("Resolution", "2^2 = 4");
        yield return new TestCaseData(t with { AttentionResolutions = [12] }, "AttentionResolutions", "[16, 8]").SetArgDisplayNames("AttentionResolutions", "[16, 8]");
        yield return new TestCaseData(t with { Dropout = 1f }, "Dropout", "[0, 1)").SetArgDisplayNames("Dropout", "[0, 1)");
        yield return new TestCaseData(t with { BaseChannels = 3 }, "BaseChannels", "got 3").SetArgDisplayNames("BaseChannels", "got 3");
        yield return new TestCaseData(t with { BaseChannels = 132, ChannelMultipliers = [1], AttentionResolutions = [] }, "BaseChannels", "132 channels").SetArgDisplayNames("BaseChannels", "132 channels");
        yield return new TestCaseData(t with { ChannelMultipliers = [] }, "ChannelMultipliers", "at least one level").SetArgDisplayNames("ChannelMultipliers", "at least one level");
        yield return new TestCaseData(t with { ChannelMultipliers = [1, 0] }, "ChannelMultipliers", "[1, 0]").SetArgDisplayNames("ChannelMultipliers", "[1, 0]");
        yield return new TestCaseData(t with { BlocksPerLevel = 0 }, "BlocksPerLevel", "got 0").SetArgDisplayNames("BlocksPerLevel", "got 0");
        yield return new TestCaseData(t with { MaskChannels = -1 }, "MaskChannels", "got -1").SetArgDisplayNames("MaskChannels", "got -1");
        yield return new TestCaseData(t with { OutChannels = 0 }, "OutChannels", "got 0").SetArgDisplayNames("OutChannels", "got 0");
    }

    [TestCaseSource(nameof(BadConfigs))]
    public void Invalid_config_names_the_field(UNetConfig config, string field, string detail)
    {
        var e = Assert.Throws<ArgumentException>(() => new UNet(config))!;
        Assert.That(e.Message, Does.Contain("UNetConfig." + field).And.Contain(detail));
    }

    [Test]
    public void Unknown_preset_and_wrong_inputs_give_clear_errors()
    {
        var e = Assert.Throws<ArgumentException>(() => UNetConfig.Preset("huge"))!;
        Assert.That(e.Message, Does.Contain("huge").And.Contain("tiny, reference, edm-cifar"));

        using var net = new UNet(UNetConfig.Tiny);
        using var tape = new Tape();
        var labels = Tape.Own(Tensor.Zeros(new Shape(2)));
        e = Assert.Throws<ArgumentException>(() => net.Forward(Tape.Own(Tensor.Zeros(new Shape(2, 3, 16, 16))), labels))!;
        Assert.That(e.Message, Does.Contain("[2, 3, 16, 16]").And.Contain("[N, 4, 16, 16]").And.Contain("1 mask"));
        e = Assert.Throws<ArgumentException>(() => net.Forward(Tape.Own(Tensor.Zeros(new Shape(2, 4, 8, 8))), labels))!;
        Assert.That(e.Message, Does.Contain("[2, 4, 8, 8]"));
        e = Assert.Throws<ArgumentException>(() => net.Forward(Tape.Own(Tensor.Zeros(new Shape(3, 4, 16, 16))), labels))!;
        Assert.That(e.Message, Does.Contain("noise labels [2]").And.Contain("[3]"));
    }

    [Test]
    public void Presets_are_fresh_copies_that_validate()
    {
        foreach (var name in UNetConfig.PresetNames) UNetConfig.Preset(name).Validate();
        Assert.That(UNetConfig.Tiny, Is.Not.SameAs(UNetConfig.Tiny));
        Assert.That(UNetConfig.Tiny.ChannelMultipliers, Is.Not.SameAs(UNetConfig.Tiny.ChannelMultipliers));
    }
}
