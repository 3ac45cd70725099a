using System.Globalization;
using AmbientNative.Autograd;
using AmbientNative.Diffusion.Corruption;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;
using AmbientNative.Training;

namespace AmbientNative.Tests.Training;

public class TrainerTests
{
    private const int Count = 5, C = 3, H = 6, W = 7, Hidden = 4;
    private const string ModelConfig = """{"kind": "tiny-conv", "hidden": 4}""";
    private string _dir = "";

    [SetUp]
    public void SetUp() => Directory.CreateDirectory(_dir = Path.Combine(Path.GetTempPath(), $"ambient-trainer-{Guid.NewGuid():N}"));

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Run(string name) => Path.Combine(_dir, name);

    private static IEnumerable<Device> Devices => TrainingTestData.Devices;

    // Pixel-erased data, so the batches carry masks; a batch of 3 from 5 images makes epochs end inside a batch.
    private static IBatchSource Data()
    {
        var clean = new float[Count * C * H * W];
        new Rng(11).FillUniform(clean, -1f, 1f);
        return new CorruptedBatchSource(new CorruptedDataset(clean, Count, C, H, W, CorruptionSpec.PixelErase(0.3, seed: 5)));
    }

    // Every piece of state in play: warm-up, clipping, EMA ramp-up, flips, dropout.
    private TrainerOptions Options(string run, long steps) => new()
    {
        RunDirectory = Run(run), BatchSize = 3, TotalSteps = steps, LearningRate = 2e-2, WarmupImages = 7,
        EmaHalfLifeImages = 20, EmaRampupRatio = 0.5, GradientClipMaxNorm = 0.5, CheckpointEvery = 3, KeepCheckpoints = 0,
        MetricsEvery = 2, HorizontalFlip = true, Seed = 1234,
    };

    private static (TinyConvNet Net, MseObjective Objective) Model(Device device, ulong seed)
    {
        var net = new TinyConvNet(device, C, Hidden, seed);
        return (net, new MseObjective(net));
    }

    private static int[] Bits(float[] a) => Array.ConvertAll(a, BitConverter.SingleToInt32Bits);

    private static void AssertSameTensors(SafetensorsFile expected, SafetensorsFile actual, string what)
    {
        Assert.That(actual.Tensors.Keys, Is.EquivalentTo(expected.Tensors.Keys), $"{what}: tensor names");
        foreach (var (name, t) in expected.Tensors)
            Assert.That(Bits(actual.Tensors[name].Data), Is.EqualTo(Bits(t.Data)), $"{what}: tensor '{name}' bits");
    }

    [TestCaseSource(nameof(Devices))]
    public void The_trainer_steps_its_model_on_a_parameter_arena(Device device)
    {
        var (net, objective) = Model(device, seed: 1);
        using (net)
        using (var trainer = new Trainer(net, objective, Data(), Options("arena", 3), ModelConfig))
        {
            Assert.That(ParameterArena.Holding(net.Parameters().ToList()), Is.Not.Null, "the model's parameters are one arena's");
            for (int i = 0; i < 3; i++) trainer.TrainStep();
            Assert.That(trainer.Optimizer.FlatSteps, Is.EqualTo(3), "every Adam step was one call over the arena");
            Assert.That(trainer.Ema.FlatUpdates, Is.EqualTo(3), "every EMA update was one call over the arena");
        }
        Assert.That(net.Parameters().All(p => p.Arena == null), "disposing the trainer releases the arena");
    }

    [TestCaseSource(nameof(Devices))]
    public void Resume_gives_a_bit_identical_next_step(Device device)
    {
        // Run A: 5 steps uninterrupted, checkpoints at 3 and 5.
        var (netA, objA) = Model(device, seed: 1);
        var lossesA = new List<double>();
        using (netA)
        using (var a = new Trainer(netA, objA, Data(), Options("a", 5), ModelConfig))
            a.Run(new SyncProgress<TrainProgress>(p => lossesA.Add(p.Loss)));

        // Run B: a fresh model with other weights, resumed from A's step-3 checkpoint in another folder.
        Directory.CreateDirectory(Run("b"));
        File.Copy(Path.Combine(Run("a"), Checkpoint.FileName(3)), Path.Combine(Run("b"), Checkpoint.FileName(3)));
        var (netB, objB) = Model(device, seed: 2);
        using (netB)
        using (var b = Trainer.Resume(Run("b"), netB, objB, Data()))
        {
            Assert.That((b.Step, b.ImagesSeen), Is.EqualTo((3L, 9L)));
            var s4 = b.TrainStep();
            Assert.That(BitConverter.DoubleToInt64Bits(s4.Loss), Is.EqualTo(BitConverter.DoubleToInt64Bits(lossesA[3])),
                $"step 4 loss: resumed {s4.Loss:R}, uninterrupted {lossesA[3]:R}");
            var s5 = b.TrainStep();
            Assert.That(s5.Loss, Is.EqualTo(lossesA[4]), "step 5 loss");
            b.SaveCheckpoint();
        }

        // Weights, EMA, Adam moments, step counts and generator states after step 5 are the same bits.
        var (fa, ia) = Checkpoint.Read(Path.Combine(Run("a"), Checkpoint.FileName(5)));
        var (fb, ib) = Checkpoint.Read(Path.Combine(Run("b"), Checkpoint.FileName(5)));
        AssertSameTensors(fa, fb, "step 5");
        Assert.That(ib.AdamSteps, Is.EquivalentTo(ia.AdamSteps), "Adam step counts");
        Assert.That(ib.Rngs, Is.EquivalentTo(ia.Rngs), "generator states");
        Assert.That((ib.Step, ib.ImagesSeen), Is.EqualTo((ia.Step, ia.ImagesSeen)));
    }

    [Test]
    public void Checkpoint_round_trip_restores_weights_and_ema_exactly()
    {
        var device = Device.Cpu;
        var (net, obj) = Model(device, seed: 3);
        using var _ = net;
        using var trainer = new Trainer(net, obj, Data(), Options("rt", 4) with { CheckpointEvery = 0 }, ModelConfig);
        var result = trainer.Run();
        Assert.That(result.CheckpointPath, Is.EqualTo(Path.Combine(Run("rt"), Checkpoint.FileName(4))));
        Assert.That(Checkpoint.ReadModelConfig(result.CheckpointPath), Is.EqualTo(ModelConfig));

        var x = Tensor.Randn(new Shape(2, C, H, W), Rand.ForTest(), device);
        var noise = Tensor.FromArray([0.3f, -0.7f], new Shape(2), device);
        float[] Output(TinyConvNet n)
        {
            n.Eval();
            using var y = n.Forward(x, noise);
            return y.ToArray();
        }

        using var copy = new TinyConvNet(device, C, Hidden, seed: 4);
        Assert.That(Bits(Output(copy)), Is.Not.EqualTo(Bits(Output(net))), "a different init gives different outputs");
        Checkpoint.LoadWeights(result.CheckpointPath, copy);
        Assert.That(Bits(Output(copy)), Is.EqualTo(Bits(Output(net))), "outputs after loading the weights");

        Checkpoint.LoadWeights(result.CheckpointPath, copy, ema: true);
        using var emaNet = new TinyConvNet(device, C, Hidden, seed: 5);
        trainer.Ema.CopyTo(emaNet.Parameters());
        Assert.That(Bits(Output(copy)), Is.EqualTo(Bits(Output(emaNet))), "outputs after loading the EMA weights");
        Assert.That(Bits(Output(copy)), Is.Not.EqualTo(Bits(Output(net))), "EMA weights differ from the trained ones");
        x.Dispose(); noise.Dispose();
    }

    [Test]
    public void Nan_loss_stops_with_the_step_and_term_and_keeps_the_last_good_checkpoint()
    {
        var (net, obj) = Model(Device.Cpu, seed: 6);
        using var _ = net;
        obj.PoisonAtCall = 5;
        using var trainer = new Trainer(net, obj, Data(), Options("nan", 10) with { CheckpointEvery = 2 }, ModelConfig);
        var ex = Assert.Throws<TrainingDivergedException>(() => trainer.Run())!;
        string good = Path.Combine(Run("nan"), Checkpoint.FileName(4));
        Assert.That(ex.Step, Is.EqualTo(5));
        Assert.That(ex.Message, Does.Contain("step 5").And.Contain("NaN").And.Contain("loss = NaN").And.Contain(good), ex.Message);
        Assert.That(trainer.Step, Is.EqualTo(4));
        Assert.That(Checkpoint.List(Run("nan")).Select(c => c.Step), Is.EqualTo(new long[] { 2, 4 }));

        // The weights were not touched by the failed step: the model still equals the step-4 checkpoint.
        var (file, info) = Checkpoint.Read(good);
        Assert.That(info.Step, Is.EqualTo(4));
        foreach (var p in net.Parameters())
            Assert.That(Bits(p.ToArray()), Is.EqualTo(Bits(file.Tensors[p.Name].Data)), p.Name);
    }

    [Test]
    public void Nan_gradient_with_a_finite_loss_names_the_parameter()
    {
        var (net, obj) = Model(Device.Cpu, seed: 7);
        using var _ = net;
        obj.PoisonGradAtCall = 2;
        using var trainer = new Trainer(net, obj, Data(), Options("nangrad", 10) with { GradientClipMaxNorm = 0, WarmupImages = 0 }, ModelConfig);
        var before = net.Parameters().Select(p => p.ToArray()).ToList();
        trainer.TrainStep();
        var after1 = net.Parameters().Select(p => p.ToArray()).ToList();
        var ex = Assert.Throws<TrainingDivergedException>(() => trainer.TrainStep())!;
        Assert.That(ex.Message, Does.Contain("step 2").And.Contain("gradient norm is NaN").And.Contain("'conv1.weight'"), ex.Message);
        Assert.That(net.Parameters().Select(p => Bits(p.ToArray())), Is.EqualTo(after1.Select(Bits)), "weights unchanged by the failed step");
        Assert.That(net.Parameters().All(p => p.Grad == null), "gradients freed");
        Assert.That(after1.Select(Bits), Is.Not.EqualTo(before.Select(Bits)), "the first step did train");
    }

    [Test]
    public void Cancellation_stops_after_the_step_and_writes_a_checkpoint_that_resumes()
    {
        var (net, obj) = Model(Device.Cpu, seed: 8);
        using var cts = new CancellationTokenSource();
        TrainResult result;
        using (net)
        using (var trainer = new Trainer(net, obj, Data(), Options("cancel", 10) with { CheckpointEvery = 100 }, ModelConfig))
            result = trainer.Run(new SyncProgress<TrainProgress>(p => { if (p.Step == 3) cts.Cancel(); }), cts.Token);
        Assert.That(result.Status, Is.EqualTo(TrainStatus.Cancelled));
        Assert.That((result.Step, result.ImagesSeen), Is.EqualTo((3L, 9L)));
        Assert.That(result.CheckpointPath, Is.EqualTo(Path.Combine(Run("cancel"), Checkpoint.FileName(3))));
        Assert.That(Checkpoint.List(Run("cancel")).Select(c => c.Step), Is.EqualTo(new long[] { 3 }));

        var (net2, obj2) = Model(Device.Cpu, seed: 9);
        using (net2)
        using (var resumed = Trainer.Resume(Run("cancel"), net2, obj2, Data()))
        {
            var done = resumed.Run();
            Assert.That((done.Status, done.Step, done.ImagesSeen), Is.EqualTo((TrainStatus.Completed, 10L, 30L)));
        }
    }

    [Test]
    public void Metrics_csv_has_a_header_and_a_row_per_interval_and_a_resume_drops_rows_past_its_checkpoint()
    {
        string metrics = Path.Combine(Run("m"), "metrics.csv");
        var (net, obj) = Model(Device.Cpu, seed: 10);
        using (net)
        using (var t = new Trainer(net, obj, Data(), Options("m", 7), ModelConfig))
            t.Run();
        var lines = File.ReadAllLines(metrics);
        Assert.That(lines[0], Is.EqualTo("step,images_seen,loss,mse_observed,grad_norm,lr,images_per_s"));
        Assert.That(lines.Skip(1).Select(l => l.Split(',')[0]), Is.EqualTo(new[] { "2", "4", "6", "7" }), "rows every 2 steps and at the end");
        foreach (var row in lines.Skip(1))
        {
            var v = row.Split(',').Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            Assert.That(v, Has.Length.EqualTo(7), row);
            Assert.That(v[1], Is.EqualTo(3 * v[0]), $"images seen: {row}");
            Assert.That(v.All(double.IsFinite) && v[2] > 0 && v[4] > 0 && v[6] > 0, row);
        }
        // Step 1 has lr = 0 (warm-up counts images before the step); step 7 starts at 18 images ≥ 7, the full rate.
        Assert.That(double.Parse(lines[^1].Split(',')[5], CultureInfo.InvariantCulture), Is.EqualTo(2e-2));

        // Resume from step 3 (KeepCheckpoints = 0 kept 3, 6 and 7): rows 4, 6, 7 are stale and go; the rerun rewrites them.
        File.Delete(Path.Combine(Run("m"), Checkpoint.FileName(6)));
        File.Delete(Path.Combine(Run("m"), Checkpoint.FileName(7)));
        var (net2, obj2) = Model(Device.Cpu, seed: 11);
        using (net2)
        using (var t = Trainer.Resume(Run("m"), net2, obj2, Data(), o => o with { TotalSteps = 5 }))
            t.Run();
        var resumed = File.ReadAllLines(metrics);
        Assert.That(resumed.Select(l => l.Split(',')[0]), Is.EqualTo(new[] { "step", "2", "4", "5" }));
        Assert.That(resumed[1], Is.EqualTo(lines[1]), "rows before the checkpoint are kept as they were");
    }

    [Test]
    public void Batches_cover_each_epoch_once_and_flip_about_half()
    {
        var (net, obj) = Model(Device.Cpu, seed: 12);
        using var _ = net;
        var source = new RecordingSource(Data());
        using var trainer = new Trainer(net, obj, source, Options("order", 20) with { CheckpointEvery = 0 }, ModelConfig);
        for (int i = 0; i < 20; i++) trainer.TrainStep();
        var stream = source.Calls.SelectMany(c => c.Indices).ToArray();
        Assert.That(stream, Has.Length.EqualTo(60));
        for (int e = 0; e < 12; e++)
            Assert.That(stream.Skip(e * Count).Take(Count), Is.EquivalentTo(Enumerable.Range(0, Count)), $"epoch {e} is a permutation");
        Assert.That(stream.Take(Count), Is.Not.EqualTo(stream.Skip(Count).Take(Count)), "epochs are shuffled afresh");
        int flips = source.Calls.Sum(c => c.Flips.Count(f => f));
        Assert.That(flips, Is.InRange(30 - 12, 30 + 12), "Binomial(60, ½) within ~3σ");
    }

    [Test]
    public void A_new_run_refuses_a_folder_with_checkpoints_and_resume_names_a_mismatched_tensor()
    {
        var (net, obj) = Model(Device.Cpu, seed: 13);
        using (net)
        using (var t = new Trainer(net, obj, Data(), Options("x", 1), ModelConfig))
            t.Run();
        var (net2, obj2) = Model(Device.Cpu, seed: 14);
        using var _ = net2;
        var ex = Assert.Throws<InvalidOperationException>(() => new Trainer(net2, obj2, Data(), Options("x", 1), ModelConfig))!;
        Assert.That(ex.Message, Does.Contain("already holds checkpoints").And.Contain("Trainer.Resume"));

        using var wide = new TinyConvNet(Device.Cpu, C, Hidden + 1, seed: 15);
        var bad = Assert.Throws<InvalidDataException>(() => Trainer.Resume(Run("x"), wide, new MseObjective(wide), Data()).Dispose())!;
        Assert.That(bad.Message, Does.Contain("'conv1.weight'").And.Contain("[4, 3, 3, 3]").And.Contain("[5, 3, 3, 3]"), bad.Message);

        var none = Assert.Throws<FileNotFoundException>(() => Trainer.Resume(Run("empty"), net2, obj2, Data()))!;
        Assert.That(none.Message, Does.Contain(Run("empty")));
    }

    private static IEnumerable<TestCaseData> BadOptions()
    {
        TestCaseData Case(string option, Func<TrainerOptions, TrainerOptions> f) => new TestCaseData(option, f).SetArgDisplayNames(option);
        yield return Case("RunDirectory", o => o with { RunDirectory = " " });
        yield return Case("BatchSize", o => o with { BatchSize = 0 });
        yield return Case("TotalSteps", o => o with { TotalSteps = 0 });
        yield return Case("TotalSteps", o => o with { TotalImages = 100 });
        yield return Case("TotalImages", o => o with { TotalImages = -1 });
        yield return Case("LearningRate", o => o with { LearningRate = double.NaN });
        yield return Case("WarmupImages", o => o with { WarmupImages = -1 });
        yield return Case("AdamBeta1", o => o with { AdamBeta1 = 1 });
        yield return Case("AdamBeta2", o => o with { AdamBeta2 = -0.1 });
        yield return Case("AdamEps", o => o with { AdamEps = 0 });
        yield return Case("EmaHalfLifeImages", o => o with { EmaHalfLifeImages = double.PositiveInfinity });
        yield return Case("EmaRampupRatio", o => o with { EmaRampupRatio = -1 });
        yield return Case("GradientClipMaxNorm", o => o with { GradientClipMaxNorm = -1 });
        yield return Case("CheckpointEvery", o => o with { CheckpointEvery = -1 });
        yield return Case("KeepCheckpoints", o => o with { KeepCheckpoints = -1 });
        yield return Case("MetricsEvery", o => o with { MetricsEvery = 0 });
    }

    [TestCaseSource(nameof(BadOptions))]
    public void Options_are_validated_with_the_option_named(string option, Func<TrainerOptions, TrainerOptions> change)
    {
        var good = Options("v", 10);
        Assert.DoesNotThrow(good.Validate);
        var (net, obj) = Model(Device.Cpu, seed: 16);
        using var _ = net;
        var ex = Assert.Throws<ArgumentException>(() => new Trainer(net, obj, Data(), change(good), ModelConfig).Dispose())!;
        Assert.That(ex.Message, Does.StartWith($"TrainerOptions.{option} "), ex.Message);
    }

    [Test]
    public void Run_length_in_images_rounds_up_to_whole_steps_and_the_model_config_must_be_json()
    {
        Assert.That((Options("v", 0) with { TotalImages = 10 }).Steps, Is.EqualTo(4));
        var (net, obj) = Model(Device.Cpu, seed: 17);
        using var _ = net;
        var ex = Assert.Throws<ArgumentException>(() => new Trainer(net, obj, Data(), Options("v", 1), "{not json").Dispose())!;
        Assert.That(ex.Message, Does.Contain("model config is not valid JSON"));
    }
}
