using System.Diagnostics;
using AmbientNative.Data;

namespace AmbientNative.Tests.Data;

public class ProceduralShapesTests
{
    [Test]
    public void Deterministic_per_seed_and_per_image_index()
    {
        var a = ProceduralShapes.Generate(16, 16, 3, seed: 5);
        var b = ProceduralShapes.Generate(16, 16, 3, seed: 5);
        var prefix = ProceduralShapes.Generate(6, 16, 3, seed: 5);
        var other = ProceduralShapes.Generate(16, 16, 3, seed: 6);
        Assert.That(a.Images.SequenceEqual(b.Images), "same seed, same images");
        Assert.That(prefix.Images.SequenceEqual(a.Images[..prefix.Images.Length]), "image i depends on (seed, i) only");
        Assert.That(a.Images.SequenceEqual(other.Images), Is.False, "another seed, other images");
    }

    [TestCase(3, 32)]
    [TestCase(1, 16)]
    public void Images_are_distinct_varied_and_in_range(int channels, int r)
    {
        int n = 64;
        var sw = Stopwatch.StartNew();
        var ds = ProceduralShapes.Generate(n, r, channels, seed: 1);
        sw.Stop();
        Assert.That(ds.Shape.ToArray(), Is.EqualTo(new[] { n, channels, r, r }));
        Assert.That(ds.Labels!.Distinct().Order(), Is.EqualTo(new[] { 0, 1, 2 }), "every shape kind appears");
        for (int i = 0; i < n; i++)
        {
            var img = ds.Image(i);
            float mean = 0;
            foreach (float v in img) mean += v / img.Length;
            float var = 0;
            foreach (float v in img) var += (v - mean) * (v - mean) / img.Length;
            Assert.That(MathF.Sqrt(var), Is.GreaterThan(0.1f), $"image {i} has visible content");
            for (int j = 0; j < i; j++)
            {
                double d = 0;
                var other = ds.Image(j);
                for (int p = 0; p < img.Length; p++) d += Math.Abs(img[p] - other[p]);
                Assert.That(d / img.Length, Is.GreaterThan(0.01), $"images {i} and {j} differ");
            }
        }
        Assert.That(sw.ElapsedMilliseconds, Is.LessThan(2000), "generation is fast");
    }
}
