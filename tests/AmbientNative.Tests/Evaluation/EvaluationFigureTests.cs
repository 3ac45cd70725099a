using AmbientNative.Data;
using AmbientNative.Diffusion;
using AmbientNative.Diffusion.Corruption;
using AmbientNative.Evaluation;
using AmbientNative.Imaging;
using AmbientNative.Tensors;
using AmbientNative.Tests.Data;
using SkiaSharp;

namespace AmbientNative.Tests.Evaluation;

public class EvaluationFigureTests
{
    private const int Res = 12, C = 3, Size = C * Res * Res;

    /// <summary>Training set: built-in shapes; samples: 4 copies of training images and 6 shapes it has never seen.</summary>
    private static (Tensor Training, Tensor Samples, int[] Copied) Scenario()
    {
        var train = ProceduralShapes.Generate(20, Res, C, seed: 1);
        var fresh = ProceduralShapes.Generate(6, Res, C, seed: 2);
        int[] copied = [3, 17, 8, 0];
        var s = new float[10 * Size];
        for (int i = 0; i < copied.Length; i++) train.Image(copied[i]).CopyTo(s.AsSpan(i * Size));
        fresh.Images.CopyTo(s.AsSpan(copied.Length * Size));
        return (train.ToTensor(), Tensor.FromArray(s, new Shape(10, C, Res, Res)), copied);
    }

    [Test]
    public void Memorization_outputs_hold_the_report_a_histogram_and_a_grid_of_copies_beside_their_sources()
    {
        var (training, samples, copied) = Scenario();
        using var _t = training;
        using var _s = samples;
        var report = MemorizationReport.From(NearestNeighbours.Search(new PixelFeatures(), samples, training), "pixels (centred)");
        using var dir = new TempDir();
        EvaluationFigures.WriteMemorization(dir.Path, report, samples, training, rows: 5, scale: 2);

        var back = MemorizationReport.Load(dir[MemorizationReport.FileName]);
        Assert.That(back.MaxSimilarity.FractionAbove(0.99), Is.GreaterThanOrEqualTo(0.4), "the four copies");
        using (var hist = ImageIO.Decode(dir[EvaluationFigures.HistogramFile]))
        {
            Assert.That((hist.Width, hist.Height), Is.EqualTo((720, 420)));
            Assert.That(CountPixels(hist, p => p.Blue > 100 && p.Red < 120), Is.GreaterThan(200), "blue bars are drawn");
        }

        // Rows are the most similar samples first: the copies, each beside its source at rank 0.
        using var grid = ImageIO.Decode(dir[EvaluationFigures.NeighboursFile]);
        var layout = ImageGrid.Plan(5 * 4, Res, Res, columns: 4, gap: 2, scale: 2, captions: true);
        Assert.That((grid.Width, grid.Height), Is.EqualTo((layout.Width, layout.Height)));
        var most = report.MostSimilar(5);
        var s = samples.ToArray();
        var t = training.ToArray();
        for (int r = 0; r < 4; r++)
        {
            Assert.That(most[r], Is.LessThan(copied.Length), $"row {r} is a copy");
            int source = report.Neighbours[most[r]].Indices[0];
            Assert.That(source, Is.EqualTo(copied[most[r]]), $"row {r}: nearest is the copied training image");
            AssertCell(grid, layout, r * 4, s.AsSpan(most[r] * Size, Size), 2);
            AssertCell(grid, layout, r * 4 + 1, t.AsSpan(source * Size, Size), 2);
        }
    }

    [Test]
    public void Probe_outputs_show_original_observed_restored_and_nearest()
    {
        var (training, unused, _) = Scenario();
        using var _t = training;
        unused.Dispose();
        // Restorer: the observation itself, so "restored" = observed with erased pixels 0 (mid-grey).
        var restorer = new DenoiserRestorer(new PassThrough());
        using var probe = MemorizationProbe.Run(restorer, training, [2, 5, 11], CorruptionSpec.PixelErase(0.5, seed: 4));
        using var dir = new TempDir();
        EvaluationFigures.WriteProbe(dir.Path, probe, training, scale: 1);
        Assert.That(ProbeReport.Load(dir[ProbeReport.FileName]).Images, Is.EqualTo(3));
        using var grid = ImageIO.Decode(dir[EvaluationFigures.ProbeGridFile]);
        var layout = ImageGrid.Plan(3 * 4, Res, Res, columns: 4, gap: 2, scale: 1, captions: true);
        Assert.That((grid.Width, grid.Height), Is.EqualTo((layout.Width, layout.Height)));
        int top = Enumerable.Range(0, 3).OrderByDescending(i => probe.Report.PerImage[i].Similarity).First();
        AssertCell(grid, layout, 0, probe.Originals.Span.Slice(top * Size, Size), 1);
        AssertCell(grid, layout, 2, probe.Restored.Span.Slice(top * Size, Size), 1);
        Assert.That(File.Exists(dir[EvaluationFigures.HistogramFile]));
    }

    [Test]
    public void Sweep_outputs_hold_csv_json_and_a_plot()
    {
        var sweep = new SweepResult(SweepResult.FormatTag, "pixels (centred)", 0.95, 300, 100, SweepResult.QualityProxyText,
        [
            new SweepPoint(0.0, 64, 0.62, 0.01, 0.97, 0.81),
            new SweepPoint(0.4, 64, 0.11, 0.0, 0.90, 0.80),
            new SweepPoint(0.8, 64, 0.0, 0.0, 0.71, 0.66),
        ]);
        using var dir = new TempDir();
        EvaluationFigures.WriteSweep(dir.Path, sweep);
        Assert.That(File.ReadAllLines(dir["sweep.csv"]), Has.Length.EqualTo(4));
        Assert.That(SweepResult.Load(dir["sweep.json"]).Points, Is.EqualTo(sweep.Points));
        using var plot = ImageIO.Decode(dir[EvaluationFigures.SweepPlotFile]);
        Assert.That(CountPixels(plot, p => p.Red > 100 && p.Green < 40 && p.Blue < 40), Is.GreaterThan(50), "the dark-red memorization curve");
    }

    [Test]
    public void A_grid_for_images_that_do_not_match_the_report_is_refused()
    {
        var (training, samples, _) = Scenario();
        using var _t = training;
        using var _s = samples;
        var report = MemorizationReport.From(NearestNeighbours.Search(new PixelFeatures(), samples, training), "pixels");
        using var dir = new TempDir();
        var e = Assert.Throws<ArgumentException>(() => EvaluationFigures.SaveNeighbourGrid(dir["g.png"], report, training, samples))!;
        Assert.That(e.Message, Does.Contain("10 samples").And.Contain("20 training images"));
    }

    private sealed class PassThrough : IDenoiser
    {
        public Tensor Denoise(Tensor x, Tensor sigma) => x.Detach();
    }

    private static void AssertCell(SKBitmap grid, ImageGrid.Layout layout, int cell, ReadOnlySpan<float> image, int scale)
    {
        var (x0, y0) = layout.Cell(cell);
        int plane = Res * Res;
        for (int y = 0; y < Res; y++)
            for (int x = 0; x < Res; x++)
            {
                int p = y * Res + x;
                var expected = new SKColor(Pixels.ToByte(image[p]), Pixels.ToByte(image[plane + p]), Pixels.ToByte(image[2 * plane + p]));
                Assert.That(grid.GetPixel(x0 + x * scale, y0 + y * scale), Is.EqualTo(expected), $"cell {cell} pixel ({x}, {y})");
            }
    }

    private static int CountPixels(SKBitmap bmp, Func<SKColor, bool> pred)
    {
        int n = 0;
        for (int y = 0; y < bmp.Height; y++)
            for (int x = 0; x < bmp.Width; x++)
                if (pred(bmp.GetPixel(x, y))) n++;
        return n;
    }
}
