using AmbientNative.Autograd;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;
using AmbientNative.Training;

namespace AmbientNative.Tests.Gpu;

/// <summary>
/// Storage slices on the device (what a parameter arena is made of): a kernel on slice tensors reads and writes at
/// the slice's offset and nowhere else, uploads and downloads address the slice, and Adam over an arena matches the
/// per-parameter steps.
/// </summary>
[Category("Gpu")]
public class CudaStorageSliceTests
{
    [Test]
    public void A_kernel_on_slices_writes_only_inside_its_slice()
    {
        var dev = Gpu.Device();
        var rng = Rand.ForTest();
        const int n = 1000, offset = 13, count = 517;
        var x = Rand.Normal(rng, count);
        using var big = Gpu.Poisoned(new Shape(n), dev);
        using var xs = new Tensor(new Shape(count), big.Storage.Slice(offset, count));
        xs.Storage.CopyFrom(Check.ToFloat(x)); // an upload into the slice
        using var ys = new Tensor(new Shape(count - 100), big.Storage.Slice(offset + count + 7, count - 100));
        using var xPart = new Tensor(new Shape(count - 100), xs.Storage.Slice(50, count - 100)); // a slice of a slice
        dev.Backend.Affine(xPart, 2f, 1f, ys);

        var all = big.ToArray();
        var x32 = Gpu.F32(x);
        Assert.That(xs.ToArray(), Is.EqualTo(Check.ToFloat(x)), "the slice downloads what was uploaded");
        Check.Close(ys.ToArray(), x32.Skip(50).Take(count - 100).Select(v => 2 * v + 1).ToArray(), 1e-6, "2x + 1 on the slice");
        for (int i = 0; i < n; i++)
        {
            bool inX = i >= offset && i < offset + count, inY = i >= offset + count + 7 && i < offset + count + 7 + count - 100;
            if (!inX && !inY) Assert.That(all[i], Is.NaN, $"element {i} lies outside both slices and must stay poisoned");
        }
    }

    [Test]
    public void Adam_over_an_arena_on_the_device_matches_the_cpu_per_parameter_steps()
    {
        var dev = Gpu.Device();
        var rng = Rand.ForTest();
        int[] sizes = [135, 5, 64, 1, 300];
        var values = sizes.Select(s => Rand.Normal(rng, s)).ToArray();
        var grads = sizes.Select(s => Rand.Normal(rng, s)).ToArray();
        Parameter[] Make(Device d) => sizes.Select((s, i) =>
        {
            var p = new Parameter($"p{i}", new Shape(s), d);
            p.Storage.CopyFrom(Check.ToFloat(values[i]));
            return p;
        }).ToArray();
        var onGpu = Make(dev);
        var onCpu = Make(Device.CpuReference);
        using var arena = ParameterArena.Adopt(onGpu);
        using var adamGpu = new Adam(onGpu, lr: 0.01, weightDecay: 0.1);
        using var adamCpu = new Adam(onCpu, lr: 0.01, weightDecay: 0.1);
        for (int step = 0; step < 2; step++)
        {
            for (int i = 0; i < sizes.Length; i++)
            {
                using var gGpu = Tensor.FromArray(Check.ToFloat(grads[i]), onGpu[i].Shape, dev).RequireGrad();
                using var gCpu = Tensor.FromArray(Check.ToFloat(grads[i]), onCpu[i].Shape, Device.CpuReference).RequireGrad();
                // Gradients arrive the way the tape delivers them, through its accumulation into the arena's slots.
                using (var tape = new Tape()) tape.Backward(Ops_.Mul(onGpu[i], gGpu), Tensor.Full(onGpu[i].Shape, 1f, dev));
                using (var tape = new Tape()) tape.Backward(Ops_.Mul(onCpu[i], gCpu), Tensor.Full(onCpu[i].Shape, 1f, Device.CpuReference));
            }
            Assert.That(adamGpu.NextStepIsFlat, "one launch over the arena");
            adamGpu.Step(); adamCpu.Step();
            adamGpu.ZeroGrad(); adamCpu.ZeroGrad();
        }
        for (int i = 0; i < sizes.Length; i++)
            Check.Close(onGpu[i].ToArray(), Check.ToDouble(onCpu[i].ToArray()), 1e-6, $"p{i} after two steps");
        var flat = arena.Values.ToArray();
        for (int i = 0; i < sizes.Length; i++)
        {
            int end = arena.OffsetOf(i) + sizes[i], next = i + 1 < sizes.Length ? arena.OffsetOf(i + 1) : arena.Length;
            Assert.That(flat.AsSpan(end, next - end).ToArray(), Is.All.EqualTo(0f), $"the gap after p{i} stays zero");
        }
        foreach (var p in onGpu.Concat(onCpu)) p.Dispose();
    }
}
