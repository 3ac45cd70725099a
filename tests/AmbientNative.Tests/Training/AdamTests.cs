using AmbientNative.Autograd;
using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;
using AmbientNative.Training;
using static AmbientNative.Tests.Training.TrainingTestData;

namespace AmbientNative.Tests.Training;

public class AdamTests
{
    private static IEnumerable<Device> Devices => TrainingTestData.Devices;

    // ---- PyTorch anchor: benchmarks/anchors/optim_reference.py, run on the GPU host ----------------------------
    // torch.optim.AdamW(lr=0.05, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1), three steps, in float64.
    // Output of torch 2.11.0+cu130, pasted verbatim.
    private const double Lr = 0.05, Wd = 0.1;
    private static readonly double[] P0 = [0.5, -1.25, 2.0, 0.0, 3.75, -0.3];
    private static readonly double[][] Grads =
    [
        [0.1, -2.0, 0.0, 1e-3, 0.7, -0.05], // a zero gradient on step 1: the update is 0/(0 + eps)
        [-0.3, 1.5, 0.2, 1e-3, 0.7, 4.0],
        [0.25, -0.01, -0.6, -2e-3, 0.7, 3.0],
    ];
    private static readonly double[] TorchP1 = [0.44750000499999953, -1.1937500002499999, 1.99, -0.049999500004999954, 3.681250000714286, -0.248500009999998];
    private static readonly double[] TorchM1 = [0.009999999999999998, -0.19999999999999996, 0.0, 9.999999999999998e-05, 0.06999999999999998, -0.004999999999999999];
    private static readonly double[] TorchV1 = [1.0000000000000011e-05, 0.0040000000000000036, 0.0, 1.000000000000001e-09, 0.0004900000000000003, 2.5000000000000027e-06];
    private static readonly double[] TorchP2 = [0.46997199553503277, -1.183314999903751, 1.942843161451914, -0.09974900250997455, 3.6128437514250007, -0.28404290316210834];
    private static readonly double[] TorchM2 = [-0.020999999999999994, -0.03, 0.019999999999999997, 0.00018999999999999996, 0.13299999999999995, 0.3954999999999999];
    private static readonly double[] TorchV2 = [9.999000000000008e-05, 0.006246000000000006, 4.0000000000000044e-05, 1.999000000000002e-09, 0.0009795100000000007, 0.016002497500000015];
    private static readonly double[] TorchP3 = [0.46278715959292543, -1.1738181615639043, 1.954341118430273, -0.09546781769878993, 3.5447795333821612, -0.3245369891335072];
    private static readonly double[] TorchM3 = [0.006100000000000001, -0.028, -0.04199999999999999, -2.9000000000000007e-05, 0.18969999999999992, 0.6559499999999999];
    private static readonly double[] TorchV3 = [0.00016239001000000012, 0.0062398540000000065, 0.0003999600000000003, 5.997001000000006e-09, 0.001468530490000001, 0.024986495002500022];
    private static readonly double[][] TorchP = [TorchP1, TorchP2, TorchP3], TorchM = [TorchM1, TorchM2, TorchM3], TorchV = [TorchV1, TorchV2, TorchV3];

    [Test]
    public void Reference_matches_torch_AdamW_over_three_steps_in_float64()
    {
        var p = (double[])P0.Clone();
        var m = new double[p.Length]; var v = new double[p.Length];
        for (int t = 1; t <= 3; t++)
        {
            OptimRef.AdamStep<double>(p, Grads[t - 1], m, v, new AdamStepParams(Lr, 0.9, 0.999, 1e-8, Wd, t));
            Check.Close(p, TorchP[t - 1], 1e-13, $"p after step {t}");
            Check.Close(m, TorchM[t - 1], 1e-13, $"m after step {t}");
            Check.Close(v, TorchV[t - 1], 1e-13, $"v after step {t}");
        }
    }

    [Test]
    public void Optimizer_on_each_device_matches_torch_in_float32([ValueSource(nameof(Devices))] Device device)
    {
        using var w = Param("w", P0, device, shape: [2, 3]);
        using var adam = new Adam([w], lr: Lr, weightDecay: Wd);
        for (int t = 1; t <= 3; t++)
        {
            SetGrad(w, Grads[t - 1]);
            adam.Step();
            Check.Close(w.ToArray(), TorchP[t - 1], 1e-6, $"p after step {t} on {device}");
            Check.Close(adam["w"].M.ToArray(), TorchM[t - 1], 1e-6, $"m after step {t} on {device}");
            Check.Close(adam["w"].V.ToArray(), TorchV[t - 1], 1e-6, $"v after step {t} on {device}");
        }
        Assert.That(adam.StepCount, Is.EqualTo(3));
        Assert.That(adam["w"].Step, Is.EqualTo(3));
    }

    /// <summary>Kingma &amp; Ba's bias-corrected moments with decoupled decay, written apart from OptimRef.</summary>
    private static void TextbookAdamW(double[] p, double[][] grads, double lr, double b1, double b2, double eps, double wd)
    {
        var m = new double[p.Length]; var v = new double[p.Length];
        for (int t = 1; t <= grads.Length; t++)
            for (int i = 0; i < p.Length; i++)
            {
                double g = grads[t - 1][i];
                m[i] = b1 * m[i] + (1 - b1) * g;
                v[i] = b2 * v[i] + (1 - b2) * g * g;
                double mHat = m[i] / (1 - Math.Pow(b1, t)), vHat = v[i] / (1 - Math.Pow(b2, t));
                p[i] -= lr * wd * p[i] + lr * mHat / (Math.Sqrt(vHat) + eps);
            }
    }

    [Test]
    public void Two_steps_match_the_textbook_formula_on_random_inputs([ValueSource(nameof(Devices))] Device device)
    {
        var rng = Rand.ForTest();
        const int n = 29;
        var p0 = Rand.Normal(rng, n);
        double[][] grads = [Rand.Normal(rng, n, 0.5), Rand.Normal(rng, n, 0.5)];
        const double lr = 0.02, b1 = 0.8, b2 = 0.95, eps = 1e-2, wd = 0.3; // eps and decay large enough to matter
        var expected = (double[])p0.Clone();
        TextbookAdamW(expected, grads, lr, b1, b2, eps, wd);

        var p = (double[])p0.Clone();
        var m = new double[n]; var v = new double[n];
        for (int t = 1; t <= 2; t++) OptimRef.AdamStep<double>(p, grads[t - 1], m, v, new AdamStepParams(lr, b1, b2, eps, wd, t));
        Check.Close(p, expected, 1e-13, "float64 reference");

        using var w = Param("w", p0, device);
        using var adam = new Adam([w], lr, b1, b2, eps, wd);
        foreach (var g in grads) { SetGrad(w, g); adam.Step(); }
        Check.Close(w.ToArray(), expected, 1e-6, $"float32 on {device}");
    }

    [Test]
    public void First_step_moves_each_weight_by_exactly_lr_when_eps_is_zero([ValueSource(nameof(Devices))] Device device, [Values(0, 0.1)] double wd)
    {
        // Step 1: m̂ = g and v̂ = g², so the Adam part of the update is −lr·g/|g| = −lr·sign(g), whatever |g|.
        var rng = Rand.ForTest();
        var p0 = Rand.Normal(rng, 23);
        var g = Rand.Normal(rng, 23, 3.0);
        const double lr = 0.01;
        using var w = Param("w", p0, device);
        using var adam = new Adam([w], lr, eps: 0, weightDecay: wd);
        SetGrad(w, g);
        adam.Step();
        var p1 = w.ToArray();
        for (int i = 0; i < p0.Length; i++)
        {
            double expected = (float)p0[i] * (1 - lr * wd) - lr * Math.Sign(g[i]);
            Assert.That(p1[i], Is.EqualTo(expected).Within(1e-6), $"element {i}: g = {g[i]}");
        }
    }

    [Test]
    public void A_parameter_without_gradient_is_skipped_and_keeps_its_own_step_count()
    {
        var rng = Rand.ForTest();
        var a0 = Rand.Normal(rng, 5); var b0 = Rand.Normal(rng, 3);
        using var a = Param("a", a0, Device.Cpu);
        using var b = Param("b", b0, Device.Cpu);
        using var adam = new Adam([a, b], lr: 0.01, eps: 0, weightDecay: 0.5);
        for (int k = 0; k < 3; k++) { SetGrad(a, Rand.Normal(rng, 5)); adam.Step(); }
        Assert.That(b.ToArray(), Is.EqualTo(Check.ToFloat(b0)), "no gradient: no decay, no update");
        Assert.That((adam["a"].Step, adam["b"].Step, adam.StepCount), Is.EqualTo((3L, 0L, 3L)));

        // b's first real step is its step 1, so the closed form |Δ| = lr (plus decay) holds for it.
        var g = Rand.Normal(rng, 3);
        SetGrad(b, g);
        adam.Step();
        var b1 = b.ToArray();
        for (int i = 0; i < 3; i++)
            Assert.That(b1[i], Is.EqualTo((float)b0[i] * (1 - 0.01 * 0.5) - 0.01 * Math.Sign(g[i])).Within(1e-6));
        Assert.That(adam["b"].Step, Is.EqualTo(1));
    }

    [Test]
    public void State_restored_by_name_continues_exactly_like_the_original()
    {
        var rng = Rand.ForTest();
        var p0 = Rand.Normal(rng, 11);
        double[][] grads = [Rand.Normal(rng, 11), Rand.Normal(rng, 11), Rand.Normal(rng, 11)];
        using var w = Param("layer.weight", p0, Device.Cpu);
        using var adam = new Adam([w], lr: 0.01, weightDecay: 0.01);
        SetGrad(w, grads[0]); adam.Step();
        SetGrad(w, grads[1]); adam.Step();

        // What a checkpoint does: save values, m, v and step by name; load them into a fresh model and optimizer.
        var saved = adam["layer.weight"];
        using var w2 = Param("layer.weight", Check.ToDouble(w.ToArray()), Device.Cpu);
        using var adam2 = new Adam([w2], lr: 0.01, weightDecay: 0.01);
        adam2["layer.weight"].M.Storage.CopyFrom(saved.M.ToArray());
        adam2["layer.weight"].V.Storage.CopyFrom(saved.V.ToArray());
        adam2["layer.weight"].Step = saved.Step;

        SetGrad(w, grads[2]); adam.Step();
        SetGrad(w2, grads[2]); adam2.Step();
        Assert.That(w2.ToArray(), Is.EqualTo(w.ToArray()), "bitwise identical after resuming");
    }

    [Test]
    public void Bad_arguments_give_clear_errors()
    {
        using var a = Param("a", [1.0, 2.0], Device.Cpu);
        using var a2 = Param("a", [3.0], Device.Cpu);
        Assert.That(() => new Adam([a, a2], lr: 0.1), Throws.ArgumentException.With.Message.Contains("\"a\""));
        Assert.That(() => new Adam([a], lr: -0.1), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("learning rate"));
        Assert.That(() => new Adam([a], lr: 0.1, beta2: 1.0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("beta2"));
        using var adam = new Adam([a], lr: 0.1);
        Assert.That(() => adam["b"], Throws.InstanceOf<KeyNotFoundException>().With.Message.Contains("\"b\""));
        Assert.That(() => adam["a"].Step = -1, Throws.InstanceOf<ArgumentOutOfRangeException>());
        adam.Lr = double.NaN;
        SetGrad(a, [1.0, 1.0]);
        Assert.That(adam.Step, Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("learning rate"));
    }
}
