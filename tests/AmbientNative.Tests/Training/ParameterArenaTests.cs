using AmbientNative.Autograd;
using AmbientNative.Data;
using AmbientNative.Diffusion;
using AmbientNative.Diffusion.Corruption;
using AmbientNative.Diffusion.Losses;
using AmbientNative.Nn;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;
using AmbientNative.Training;

namespace AmbientNative.Tests.Training;

/// <summary>
/// The flat parameter arena: parameters keep their values when they move in, the tape writes gradients into the flat
/// gradient tensor, and Adam, the EMA and clipping on the arena (one launch each) give the same bits as the
/// per-parameter path on every CPU backend.
/// </summary>
public class ParameterArenaTests
{
    private static IEnumerable<Device> Devices => CpuDevices.All;

    /// <summary>
    /// A small network with sizes that cross the arena's 64-float alignment (135, 5, 35 elements) and one parameter
    /// used twice, so its gradient is accumulated: conv → GroupNorm+SiLU → spatial mean → linear, squared error,
    /// plus a weight penalty on the conv weight.
    /// </summary>
    private sealed class Net : IDisposable
    {
        public readonly Parameter ConvW, ConvB, Gamma, Beta, LinW, LinB;
        public Parameter[] All => [ConvW, ConvB, Gamma, Beta, LinW, LinB];

        public Net(Device device, int seed)
        {
            var rng = new Rng((ulong)seed);
            Parameter P(string name, params int[] shape)
            {
                var p = new Parameter(name, new Shape(shape), device);
                p.Storage.CopyFrom(Check.ToFloat(Rand.Normal(rng, p.Numel, 0.5)));
                return p;
            }
            ConvW = P("conv.weight", 5, 3, 3, 3); ConvB = P("conv.bias", 5);
            Gamma = P("norm.weight", 5); Beta = P("norm.bias", 5);
            LinW = P("linear.weight", 7, 5); LinB = P("linear.bias", 7);
        }

        public Tensor Loss(Tensor x, Tensor target)
        {
            var h = Ops_.GroupNormSilu(Ops_.Conv2d(x, ConvW, ConvB, padding: 1), groups: 5, Gamma, Beta);
            var pooled = Ops_.Mean(Ops_.Reshape(h, h.Shape[0], 5, h.Shape[2] * h.Shape[3]), axis: 2);
            var err = Ops_.Sub(Ops_.Linear(pooled, LinW, LinB), target);
            return Ops_.Add(Ops_.Mean(Ops_.Square(err)), Ops_.MulScalar(Ops_.Sum(Ops_.Square(ConvW)), 1e-3f));
        }

        public void Dispose() { foreach (var p in All) p.Dispose(); }
    }

    private static (Tensor X, Tensor Target) Batch(Device device, int step)
    {
        var rng = new Rng(100 + (ulong)step);
        return (Tensor.FromArray(Check.ToFloat(Rand.Normal(rng, 2 * 3 * 6 * 6)), new Shape(2, 3, 6, 6), device),
                Tensor.FromArray(Check.ToFloat(Rand.Normal(rng, 2 * 7)), new Shape(2, 7), device));
    }

    private static void Backward(Net net, Device device, int step)
    {
        var (x, target) = Batch(device, step);
        using (x) using (target)
        using (var tape = new Tape()) tape.Backward(net.Loss(x, target));
    }

    [Test]
    public void Parameters_keep_their_values_and_sit_aligned_in_the_flat_tensor([ValueSource(nameof(Devices))] Device device)
    {
        using var net = new Net(device, seed: 1);
        var before = net.All.Select(p => p.ToArray()).ToArray();
        using var arena = ParameterArena.Adopt(net.All);

        var flat = arena.Values.ToArray();
        int expectedLength = 0;
        for (int i = 0; i < net.All.Length; i++)
        {
            var p = net.All[i];
            Assert.That(p.ToArray(), Is.EqualTo(before[i]), $"{p.Name} keeps its values");
            Assert.That(arena.OffsetOf(i), Is.EqualTo(expectedLength), $"{p.Name} starts where the previous one's aligned block ends");
            Assert.That(arena.OffsetOf(i) % ParameterArena.Alignment, Is.Zero);
            Assert.That(flat.AsSpan(arena.OffsetOf(i), p.Numel).ToArray(), Is.EqualTo(before[i]), $"{p.Name} in the flat tensor");
            int end = arena.OffsetOf(i) + p.Numel;
            expectedLength = (end + ParameterArena.Alignment - 1) / ParameterArena.Alignment * ParameterArena.Alignment;
            Assert.That(flat.AsSpan(end, expectedLength - end).ToArray(), Is.All.EqualTo(0f), $"the gap after {p.Name}");
            Assert.That(p.Arena, Is.SameAs(arena));
        }
        Assert.That(arena.Length, Is.EqualTo(expectedLength));

        net.ConvB.Span[2] = 42f; // a write through the parameter is a write into the arena
        Assert.That(arena.Values.ToArray()[arena.OffsetOf(1) + 2], Is.EqualTo(42f));
    }

    [Test]
    public void The_tape_writes_each_gradient_into_the_flat_gradient_tensor([ValueSource(nameof(Devices))] Device device)
    {
        using var plain = new Net(device, seed: 2);
        using var held = new Net(device, seed: 2);
        using var arena = ParameterArena.Adopt(held.All);
        for (int step = 0; step < 2; step++) // the second pass must overwrite the first's gradients, not add to them
        {
            Backward(plain, device, step);
            Backward(held, device, step);
            Assert.That(ParameterArena.FlatGradients(held.All), Is.SameAs(arena.Gradients));
            var flat = arena.Gradients!.ToArray();
            for (int i = 0; i < held.All.Length; i++)
            {
                var expected = plain.All[i].Grad!.ToArray();
                Assert.That(held.All[i].Grad!.ToArray(), Is.EqualTo(expected), $"{held.All[i].Name}'s gradient, pass {step}");
                Assert.That(flat.AsSpan(arena.OffsetOf(i), expected.Length).ToArray(), Is.EqualTo(expected), $"{held.All[i].Name} in the flat gradients, pass {step}");
            }
            foreach (var p in plain.All.Concat(held.All)) p.ZeroGrad();
            Assert.That(ParameterArena.FlatGradients(held.All), Is.Null, "after ZeroGrad no parameter has a gradient");
        }
    }

    [Test]
    public void Closures_write_gradients_into_their_slots_and_only_a_reused_parameter_is_copied([ValueSource(nameof(Devices))] Device device)
    {
        using var net = new Net(device, seed: 4);
        using var arena = ParameterArena.Adopt(net.All);
        for (int step = 0; step < 2; step++)
        {
            Backward(net, device, step);
            // Conv, GroupNorm and Linear write their parameters' gradients in place; the conv weight's penalty term
            // reaches it first (through Square), in a tensor of its own, so that one is copied: one copy per pass.
            Assert.That(arena.GradientCopies, Is.EqualTo(step + 1));
            Assert.That(ParameterArena.FlatGradients(net.All), Is.SameAs(arena.Gradients), "every gradient in its slot");
            foreach (var p in net.All) p.ZeroGrad();
        }
    }

    [Test]
    public void A_lent_slot_that_arrives_second_takes_in_the_gradient_that_came_first([ValueSource(nameof(Devices))] Device device)
    {
        using var p = new Parameter("p", new Shape(5), device);
        using var arena = ParameterArena.Adopt([p]);
        var lent = Tape.GradientBuffer(p);
        Assert.That(lent.Storage, Is.SameAs(p.GradSlot), "the first buffer is the slot");
        using (var again = Tape.GradientBuffer(p)) Assert.That(again.Storage, Is.Not.SameAs(p.GradSlot), "the slot is lent once");
        float[] a = [1.5f, -2f, 0.25f, 3f, 1e-3f], b = [0.5f, 4f, -0.75f, 1f, 2e-3f];
        var first = Tensor.FromArray(a, new Shape(5), device);
        Tape.Accumulate(p, first); // another gradient arrives while the slot is lent: it may not be copied into the slot
        lent.Storage.CopyFrom(b);
        Tape.Accumulate(p, lent);
        Assert.That(p.Grad!.Storage, Is.SameAs(p.GradSlot), "the slot holds the gradient in the end");
        Assert.That(p.Grad.ToArray(), Is.EqualTo(a.Zip(b, (x, y) => x + y).ToArray()));
        Assert.That(ParameterArena.FlatGradients([p]), Is.SameAs(arena.Gradients));
        p.ZeroGrad();
        using var next = Tape.GradientBuffer(p);
        Assert.That(next.Storage, Is.SameAs(p.GradSlot), "after ZeroGrad the slot is free to lend again");
    }

    [Test]
    public void Two_passes_without_zero_grad_add_up_as_without_an_arena([ValueSource(nameof(Devices))] Device device)
    {
        using var plain = new Net(device, seed: 6);
        using var held = new Net(device, seed: 6);
        using var arena = ParameterArena.Adopt(held.All);
        for (int step = 0; step < 2; step++) { Backward(plain, device, step); Backward(held, device, step); }
        for (int i = 0; i < held.All.Length; i++)
            Assert.That(held.All[i].Grad!.ToArray(), Is.EqualTo(plain.All[i].Grad!.ToArray()), held.All[i].Name);
        Assert.That(ParameterArena.FlatGradients(held.All), Is.SameAs(arena.Gradients));
    }

    [Test]
    public void The_unet_writes_every_parameter_gradient_in_place()
    {
        // The tiny U-Net at 8×8 under the ambient loss: every parameter's gradient comes from a conv, GroupNorm or
        // linear closure, so the tape copies none of them into the arena.
        var cfg = UNetConfig.Tiny with { Resolution = 8, AttentionResolutions = [4], Dropout = 0f };
        using var net = new UNet(cfg, Device.Cpu, seed: 5);
        var parameters = net.Parameters().ToList();
        using var arena = ParameterArena.Adopt(parameters);
        var clean = ProceduralShapes.Generate(2, 8, 3, seed: 7);
        var data = new CorruptedDataset(clean.Images, 2, 3, 8, 8, CorruptionSpec.PixelErase(0.2, 0.1, seed: 3));
        var batch = new CorruptedBatchSource(data).Load([0, 1], [false, true], Device.Cpu);
        var noise = new float[2 * 3 * 8 * 8];
        new Rng(21).FillNormal(noise);
        using var noiseT = Tensor.FromArray(noise, batch.Observed.Shape, Device.Cpu);
        try
        {
            using (var tape = new Tape()) tape.Backward(new AmbientLoss(new EdmPreconditioner(net)).Compute(batch, [0.3, 4.0], noiseT).Loss);
            Assert.That(ParameterArena.FlatGradients(parameters), Is.SameAs(arena.Gradients), "every parameter has its gradient in its slot");
            Assert.That(arena.GradientCopies, Is.Zero, $"{parameters.Count} parameters");
        }
        finally
        {
            batch.Observed.Dispose(); batch.MaskA?.Dispose(); batch.MaskATilde?.Dispose(); batch.Clean?.Dispose();
        }
    }

    [Test]
    public void A_parameter_used_twice_by_one_op_gets_the_sum_of_both_gradients([ValueSource(nameof(Devices))] Device device)
    {
        // One tensor as GroupNorm's weight and bias, and one as both factors of a product: the closure asks for two
        // gradient buffers of one parameter before it accumulates either, so only one of them may be the slot.
        float[] Run(bool inArena)
        {
            var rng = new Rng(9);
            using var affine = new Parameter("affine", new Shape(4), device);
            affine.Storage.CopyFrom(Check.ToFloat(Rand.Normal(rng, 4, 0.5)));
            using var square = new Parameter("square", new Shape(4, 4), device);
            square.Storage.CopyFrom(Check.ToFloat(Rand.Normal(rng, 16, 0.5)));
            using var arena = inArena ? ParameterArena.Adopt([affine, square]) : null;
            using var x = Tensor.FromArray(Check.ToFloat(Rand.Normal(rng, 2 * 4 * 3 * 3)), new Shape(2, 4, 3, 3), device);
            using (var tape = new Tape())
            {
                var h = Ops_.GroupNorm(x, groups: 2, affine, affine);
                var m = Ops_.MatMul(square, square);
                tape.Backward(Ops_.Add(Ops_.Sum(Ops_.Square(h)), Ops_.Sum(Ops_.Square(m))));
            }
            return [.. affine.Grad!.ToArray(), .. square.Grad!.ToArray()];
        }
        Assert.That(Run(inArena: true), Is.EqualTo(Run(inArena: false)));
    }

    /// <summary>
    /// Three steps of clip → AdamW → EMA, on the arena (one launch each) and parameter by parameter: parameters,
    /// moments and averages bit-identical; the norm differs only by float64 summation order.
    /// </summary>
    [Test]
    public void Adam_Ema_and_clipping_on_the_arena_match_the_per_parameter_path_bit_for_bit([ValueSource(nameof(Devices))] Device device)
    {
        using var plain = new Net(device, seed: 3);
        using var held = new Net(device, seed: 3);
        using var arena = ParameterArena.Adopt(held.All);
        using var adamPlain = new Adam(plain.All, lr: 0.01, weightDecay: 0.05);
        using var adamHeld = new Adam(held.All, lr: 0.01, weightDecay: 0.05);
        using var emaPlain = new Ema(plain.All, halfLifeImages: 10, rampupRatio: null);
        using var emaHeld = new Ema(held.All, halfLifeImages: 10, rampupRatio: null);
        for (int step = 0; step < 3; step++)
        {
            Backward(plain, device, step);
            Backward(held, device, step);
            Assert.That(adamHeld.NextStepIsFlat, Is.True, "every parameter has its gradient in the arena");
            Assert.That(adamPlain.NextStepIsFlat, Is.False);
            Assert.That(ParameterArena.FlatGradients(held.All), Is.SameAs(arena.Gradients), "clipping takes the flat gradients");
            double normPlain = GradientClipping.ClipGlobalNorm(plain.All, maxNorm: 0.5);
            double normHeld = GradientClipping.ClipGlobalNorm(held.All, maxNorm: 0.5);
            Assert.That(normHeld, Is.EqualTo(normPlain).Within(1e-12).Percent, $"norm, step {step}");
            Assert.That(normPlain, Is.GreaterThan(0.5), "the clipping is exercised");
            adamPlain.Step(); adamHeld.Step();
            emaPlain.Update(beta: 0.7); emaHeld.Update(beta: 0.7);
            adamPlain.ZeroGrad(); adamHeld.ZeroGrad();
        }
        Assert.That((adamHeld.FlatSteps, emaHeld.FlatUpdates), Is.EqualTo((3L, 3L)), "Adam and the EMA took the flat path every step");
        Assert.That((adamPlain.FlatSteps, emaPlain.FlatUpdates), Is.EqualTo((0L, 0L)));
        for (int i = 0; i < held.All.Length; i++)
        {
            string name = held.All[i].Name;
            Assert.That(held.All[i].ToArray(), Is.EqualTo(plain.All[i].ToArray()), $"{name} after three steps");
            Assert.That(adamHeld[name].M.ToArray(), Is.EqualTo(adamPlain[name].M.ToArray()), $"m of {name}");
            Assert.That(adamHeld[name].V.ToArray(), Is.EqualTo(adamPlain[name].V.ToArray()), $"v of {name}");
            Assert.That(adamHeld[name].Step, Is.EqualTo(3));
            Assert.That(emaHeld.Parameters[i].ToArray(), Is.EqualTo(emaPlain.Parameters[i].ToArray()), $"EMA of {name}");
        }
        var values = arena.Values.ToArray();
        for (int i = 0; i < held.All.Length; i++)
        {
            int end = arena.OffsetOf(i) + held.All[i].Numel, next = i + 1 < held.All.Length ? arena.OffsetOf(i + 1) : arena.Length;
            Assert.That(values.AsSpan(end, next - end).ToArray(), Is.All.EqualTo(0f), $"the gap after {held.All[i].Name} stays zero");
        }
    }

    [Test]
    public void A_parameter_without_a_gradient_sends_Adam_down_the_per_parameter_path_and_misses_its_step()
    {
        var device = Device.Cpu;
        using var net = new Net(device, seed: 4);
        using var arena = ParameterArena.Adopt(net.All);
        using var adam = new Adam(net.All, lr: 0.01);
        Backward(net, device, 0);
        net.LinB.ZeroGrad();
        var linB = net.LinB.ToArray();
        Assert.That(adam.NextStepIsFlat, Is.False);
        Assert.That(ParameterArena.FlatGradients(net.All), Is.Null);
        adam.Step();
        Assert.That(net.LinB.ToArray(), Is.EqualTo(linB), "skipped entirely, as in PyTorch");
        Assert.That(adam["linear.bias"].Step, Is.Zero);
        Assert.That(adam["linear.weight"].Step, Is.EqualTo(1));
        adam.ZeroGrad();
        Backward(net, device, 1);
        Assert.That(adam.NextStepIsFlat, Is.False, "the step counts differ now");
    }

    [Test]
    public void A_gradient_set_outside_the_tape_is_not_mistaken_for_the_flat_one()
    {
        using var net = new Net(Device.Cpu, seed: 5);
        using var arena = ParameterArena.Adopt(net.All);
        Backward(net, Device.Cpu, 0);
        TrainingTestData.SetGrad(net.LinB, new double[7]);
        Assert.That(arena.AllHaveGradients(), Is.False);
        Assert.That(ParameterArena.FlatGradients(net.All), Is.Null);
    }

    [Test]
    public void Disposing_the_arena_leaves_the_parameters_with_their_values_and_per_parameter_gradients()
    {
        using var net = new Net(Device.Cpu, seed: 6);
        var arena = ParameterArena.Adopt(net.All);
        using var adam = new Adam(net.All, lr: 0.01);
        Backward(net, Device.Cpu, 0);
        var values = net.All.Select(p => p.ToArray()).ToArray();
        var grads = net.All.Select(p => p.Grad!.ToArray()).ToArray();
        arena.Dispose();
        for (int i = 0; i < net.All.Length; i++)
        {
            Assert.That(net.All[i].Arena, Is.Null);
            Assert.That(net.All[i].ToArray(), Is.EqualTo(values[i]));
            Assert.That(net.All[i].Grad!.ToArray(), Is.EqualTo(grads[i]));
        }
        Assert.That(ParameterArena.Holding(net.All), Is.Null);
        Assert.That(adam.NextStepIsFlat, Is.False);
        adam.Step(); // per parameter, on views of the same moments
        adam.ZeroGrad();
        Backward(net, Device.Cpu, 1);
        Assert.That(net.ConvW.Grad!.Storage.Length, Is.EqualTo(net.ConvW.Numel));
    }

    [Test]
    public void Moving_into_a_second_arena_leaves_the_first_for_good()
    {
        using var net = new Net(Device.Cpu, seed: 7);
        using var first = ParameterArena.Adopt(net.All);
        Backward(net, Device.Cpu, 0);
        var grads = net.All.Select(p => p.Grad!.ToArray()).ToArray();
        using var second = ParameterArena.Adopt(net.All);
        Assert.That(ParameterArena.Holding(net.All), Is.SameAs(second));
        Assert.That(ParameterArena.FlatGradients(net.All), Is.SameAs(second.Gradients), "gradients move along");
        for (int i = 0; i < net.All.Length; i++) Assert.That(net.All[i].Grad!.ToArray(), Is.EqualTo(grads[i]));
    }

    [Test]
    public void Bad_parameter_lists_are_refused_by_name()
    {
        using var net = new Net(Device.Cpu, seed: 8);
        using var other = new Parameter("other.weight", new Shape(3), Device.CpuReference);
        Assert.That(Assert.Throws<ArgumentException>(() => ParameterArena.Adopt([]))!.Message, Does.Contain("no parameters"));
        Assert.That(Assert.Throws<ArgumentException>(() => ParameterArena.Adopt([net.ConvW, net.ConvB, net.ConvW]))!.Message,
            Does.Contain("\"conv.weight\" is listed twice"));
        Assert.That(Assert.Throws<ArgumentException>(() => ParameterArena.Adopt([net.ConvW, other]))!.Message,
            Does.Contain("\"other.weight\" is on cpu (reference)"));
        Assert.That(net.ConvW.Arena, Is.Null, "a refused list moves nothing");
    }
}
