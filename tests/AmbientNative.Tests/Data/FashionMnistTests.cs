using AmbientNative.Data;
using AmbientNative.Imaging;

namespace AmbientNative.Tests.Data;

/// <summary>
/// Real files no one here wrote: Fashion-MNIST from the Debian package dataset-fashion-mnist (.ci/run installs it).
/// Expected figures come from the data set's documentation (first labels, 6000 / 1000 images per class) and an
/// independent count of the raw bytes (mean pixel 0.28604 of full scale on the training set).
/// </summary>
public class FashionMnistTests
{
    private const string Folder = "/usr/share/datasets/fashion-mnist";

    [SetUp]
    public void RequireFiles()
    {
        if (!File.Exists(Path.Combine(Folder, "train-images-idx3-ubyte.gz")))
            Assert.Ignore($"Fashion-MNIST is not installed at {Folder} (apt-get install dataset-fashion-mnist; CI installs it).");
    }

    [TestCase(true, 60000, 0.2860406)]
    [TestCase(false, 10000, 0.2868493)]
    public void Loads_the_real_files(bool train, int count, double meanPixel)
    {
        var ds = IdxFormat.LoadFolder(Folder, train);
        Assert.That((ds.Count, ds.Channels, ds.Height, ds.Width), Is.EqualTo((count, 1, 28, 28)));
        Assert.That(ds.Labels!.Min(), Is.EqualTo(0));
        Assert.That(ds.Labels!.Max(), Is.EqualTo(9));
        for (int k = 0; k < 10; k++)
            Assert.That(ds.Labels!.Count(l => l == k), Is.EqualTo(count / 10), $"images of class {k}");
        Assert.That(ds.Labels!.Take(10), Is.EqualTo(train ? new[] { 9, 0, 0, 3, 0, 2, 7, 2, 5, 5 } : new[] { 9, 2, 1, 1, 6, 1, 4, 6, 5, 7 }));

        double sum = 0;
        foreach (float v in ds.Images) sum += (v + 1) / 2;
        Assert.That(sum / ds.Images.Length, Is.EqualTo(meanPixel).Within(1e-6), "mean pixel on [0, 1]");
        // The first training image's bytes sum to 76247 (independent count); exact decoding reproduces it.
        if (train)
        {
            int bytes = 0;
            foreach (float v in ds.Image(0)) bytes += Pixels.ToByte(v);
            Assert.That(bytes, Is.EqualTo(76247));
        }
    }

    [Test]
    public void Opens_through_the_loader_as_a_training_run_would()
    {
        // What `--data <folder> --limit 300 --resolution 32` does: detect IDX, seeded subset, resize 28 → 32.
        var ds = DatasetLoader.Load(Folder, new DatasetOptions { Limit = 300, Seed = 1, Resolution = 32 });
        Assert.That(DatasetLoader.Detect(Folder), Is.EqualTo(DatasetFormat.Idx));
        Assert.That(ds.Shape.ToArray(), Is.EqualTo(new[] { 300, 1, 32, 32 }));
        Assert.That(ds.Labels!.Distinct().Count(), Is.EqualTo(10), "a random subset of 300 holds every class");
    }
}
