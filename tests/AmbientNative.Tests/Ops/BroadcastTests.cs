using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;

namespace AmbientNative.Tests.Ops;

/// <summary>The broadcasting index map, checked directly: shapes, a hand example, and that both directions agree.</summary>
public class BroadcastTests
{
    [TestCase(new[] { 2, 3, 4, 5 }, new[] { 2, 1, 1, 1 }, new[] { 2, 3, 4, 5 })]
    [TestCase(new[] { 2, 3, 4, 5 }, new[] { 3, 1, 1 }, new[] { 2, 3, 4, 5 })]
    [TestCase(new[] { 2, 3, 4, 5 }, new[] { 5 }, new[] { 2, 3, 4, 5 })]
    [TestCase(new[] { 3, 1, 5 }, new[] { 1, 4, 1 }, new[] { 3, 4, 5 })]
    [TestCase(new[] { 1 }, new[] { 2, 3 }, new[] { 2, 3 })]
    [TestCase(new int[0], new[] { 2, 3 }, new[] { 2, 3 })]
    public void Result_shape_follows_numpy(int[] a, int[] b, int[] expected)
    {
        Assert.That(Broadcast.ResultShape(a, b, "add"), Is.EqualTo(new Shape(expected)));
        Assert.That(Broadcast.ResultShape(b, a, "add"), Is.EqualTo(new Shape(expected)));
    }

    [Test]
    public void Incompatible_shapes_name_both()
    {
        var e = Assert.Throws<ArgumentException>(() => Broadcast.ResultShape(new Shape(2, 3, 4), new Shape(2, 4), "mul"))!;
        Assert.That(e.Message, Does.Contain("mul").And.Contain("[2, 3, 4]").And.Contain("[2, 4]"));
        Assert.Throws<ArgumentException>(() => _ = new Broadcast(new Shape(2, 3), new Shape(3)));
        Assert.Throws<ArgumentException>(() => _ = new Broadcast(new Shape(2, 3), new Shape(4, 1, 3)));
    }

    [Test]
    public void Hand_example_bias_over_rows()
    {
        // [3] broadcast to [2, 3]: output element (1, 2) = index 5 reads input 2; input 1 is read by outputs 1 and 4.
        var m = new Broadcast(new Shape(3), new Shape(2, 3));
        Assert.That(m.InputIndex(5), Is.EqualTo(2));
        Assert.That(m.Fan, Is.EqualTo(2));
        Assert.That(new[] { m.OutputIndex(1, 0), m.OutputIndex(1, 1) }, Is.EqualTo(new[] { 1, 4 }));
    }

    // Every output element is produced by exactly one (input element, copy) pair, and reads that element back.
    [TestCase(new[] { 2, 1, 1, 1 }, new[] { 2, 3, 4, 5 })]
    [TestCase(new[] { 1, 3, 1, 1 }, new[] { 2, 3, 4, 5 })]
    [TestCase(new[] { 3, 1, 1 }, new[] { 2, 3, 4, 5 })]
    [TestCase(new[] { 5 }, new[] { 2, 3, 4, 5 })]
    [TestCase(new[] { 3, 1, 5 }, new[] { 3, 4, 5 })]
    [TestCase(new[] { 3, 4, 5 }, new[] { 3, 4, 5 })]
    [TestCase(new int[0], new[] { 3, 2 })]
    public void Gather_and_scatter_directions_agree(int[] input, int[] output)
    {
        Shape si = input, so = output;
        var m = new Broadcast(si, so);
        Assert.That(m.Fan * si.Numel, Is.EqualTo(so.Numel));
        var seen = new bool[so.Numel];
        for (int j = 0; j < si.Numel; j++)
        for (int r = 0; r < m.Fan; r++)
        {
            int o = m.OutputIndex(j, r);
            Assert.That(seen[o], Is.False, $"output {o} produced twice");
            seen[o] = true;
            Assert.That(m.InputIndex(o), Is.EqualTo(j), $"output {o}");
        }
        Assert.That(seen, Is.All.True);
    }
}
