using AmbientNative.Evaluation;
using AmbientNative.Tensors;
using ScottPlot;

namespace AmbientNative.Imaging;

/// <summary>
/// The pictures of the memorization evaluation (METHOD §4): the histogram of max similarity with the thresholds,
/// the grid of the most similar samples beside their nearest training images, the probe's grid, and the sweep curve.
/// Each writer also writes the report it draws, so a run folder always holds the numbers behind its pictures.
/// </summary>
public static class EvaluationFigures
{
    public const string HistogramFile = "similarity_histogram.png";
    public const string NeighboursFile = "nearest_neighbours.png";
    public const string ProbeGridFile = "probe_grid.png";
    public const string SweepPlotFile = "sweep.png";

    /// <summary>
    /// report.json, the histogram and the neighbour grid of the <paramref name="rows"/> most similar samples into
    /// <paramref name="dir"/>. <paramref name="samples"/> and <paramref name="training"/> are the images the report was
    /// built from ([N, C, H, W] in [−1, 1]).
    /// </summary>
    public static void WriteMemorization(string dir, MemorizationReport report, Tensor samples, Tensor training, int rows = 8, int scale = 2)
    {
        ArgumentNullException.ThrowIfNull(report);
        Directory.CreateDirectory(dir);
        report.Save(Path.Combine(dir, MemorizationReport.FileName));
        SaveHistogram(Path.Combine(dir, HistogramFile), report.MaxSimilarity,
            $"Max similarity of {report.Samples} samples to {report.TrainingImages} training images", $"max cosine similarity ({report.FeatureSpace})");
        SaveNeighbourGrid(Path.Combine(dir, NeighboursFile), report, samples, training, rows, scale);
    }

    /// <summary>probe.json, the histogram of restoration similarity and the probe grid into <paramref name="dir"/>.</summary>
    public static void WriteProbe(string dir, ProbeResult probe, Tensor training, int rows = 8, int scale = 2)
    {
        ArgumentNullException.ThrowIfNull(probe);
        Directory.CreateDirectory(dir);
        var r = probe.Report;
        r.Save(Path.Combine(dir, ProbeReport.FileName));
        var c = r.Corruption;
        string what = c.Kind == "GaussianNoise" ? $"noise σ = {c.Sigma:G3}" : $"{c.Kind} p = {c.P:G3}";
        SaveHistogram(Path.Combine(dir, HistogramFile), r.RestorationSimilarity,
            $"Restorations of {r.Images} training images ({what})", $"cosine similarity to the original ({r.FeatureSpace})");
        SaveProbeGrid(Path.Combine(dir, ProbeGridFile), probe, training, rows, scale);
    }

    /// <summary>sweep.csv, sweep.json and the sweep plot into <paramref name="dir"/>.</summary>
    public static void WriteSweep(string dir, SweepResult sweep, string levelLabel = "corruption level p")
    {
        ArgumentNullException.ThrowIfNull(sweep);
        Directory.CreateDirectory(dir);
        sweep.SaveCsv(Path.Combine(dir, "sweep.csv"));
        sweep.Save(Path.Combine(dir, "sweep.json"));
        SaveSweepPlot(Path.Combine(dir, SweepPlotFile), sweep, levelLabel);
    }

    /// <summary>
    /// Bars of the histogram's counts over the occupied range (plus a bin either side), with a dashed line at each
    /// threshold labelled with the fraction at or above it.
    /// </summary>
    public static void SaveHistogram(string path, SimilarityStats stats, string title, string xLabel, int width = 720, int height = 420)
    {
        ArgumentNullException.ThrowIfNull(stats);
        var h = stats.Histogram;
        int first = Array.FindIndex(h.Counts, c => c > 0), last = Array.FindLastIndex(h.Counts, c => c > 0);
        if (first < 0) { first = 0; last = h.Bins - 1; }
        // Show at least the thresholds' neighbourhood, so an all-low histogram still shows where "copies" would be.
        foreach (var a in stats.Above)
            last = Math.Max(last, Math.Min(h.Bins - 1, (int)((a.Threshold - h.Lo) / (h.Hi - h.Lo) * h.Bins)));
        first = Math.Max(0, first - 1);
        last = Math.Min(h.Bins - 1, last + 1);

        var plot = new Plot();
        double binWidth = (h.Hi - h.Lo) / h.Bins;
        var bars = new List<Bar>();
        for (int i = first; i <= last; i++)
            bars.Add(new Bar { Position = h.Lo + (i + 0.5) * binWidth, Value = h.Counts[i], Size = binWidth, LineWidth = 0, FillColor = Colors.SteelBlue });
        plot.Add.Bars(bars);
        Color[] lineColors = [Colors.DarkOrange, Colors.OrangeRed, Colors.DarkRed];
        for (int k = 0; k < stats.Above.Length; k++)
        {
            var a = stats.Above[k];
            var line = plot.Add.VerticalLine(a.Threshold, 1.5f, lineColors[k % lineColors.Length], LinePattern.Dashed);
            line.LegendText = $"≥ {a.Threshold:0.00}: {a.Fraction:P1} ({a.Count})";
        }
        plot.Axes.SetLimitsX(h.Lo + first * binWidth, h.Lo + (last + 1) * binWidth);
        plot.Axes.Margins(bottom: 0);
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel("count");
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SavePng(path, width, height);
    }

    /// <summary>
    /// One row per sample, most similar first: the sample, then its K nearest training images, captioned with the
    /// training index and similarity.
    /// </summary>
    public static void SaveNeighbourGrid(string path, MemorizationReport report, Tensor samples, Tensor training, int rows = 8, int scale = 2)
    {
        ArgumentNullException.ThrowIfNull(report);
        var (ns, c, h, w) = samples.Shape.Nchw("neighbour grid samples");
        var (nt, ct, ht, wt) = training.Shape.Nchw("neighbour grid training images");
        if ((ct, ht, wt) != (c, h, w) || ns != report.Samples || nt != report.TrainingImages)
            throw new ArgumentException($"neighbour grid: samples {samples.Shape} and training {training.Shape} do not match the report ({report.Samples} samples, {report.TrainingImages} training images).");
        var pick = report.MostSimilar(rows);
        int cols = 1 + report.K, size = c * h * w;
        var s = samples.ToArray();
        var t = training.ToArray();
        var cells = new float[pick.Length * cols * size];
        var captions = new List<string>();
        for (int r = 0; r < pick.Length; r++)
        {
            var nb = report.Neighbours[pick[r]];
            s.AsSpan(pick[r] * size, size).CopyTo(cells.AsSpan(r * cols * size));
            captions.Add($"sample {pick[r]}");  // then "#training-index similarity" per neighbour
            for (int j = 0; j < report.K; j++)
            {
                t.AsSpan(nb.Indices[j] * size, size).CopyTo(cells.AsSpan((r * cols + 1 + j) * size));
                captions.Add($"#{nb.Indices[j]} {nb.Similarities[j]:0.000}");
            }
        }
        ImageGrid.Save(path, cells, pick.Length * cols, c, h, w, cols, gap: 2, scale: scale, captions: captions);
    }

    /// <summary>
    /// One row per probed image, most similar restoration first: the original (captioned with its training index), what
    /// the restorer saw (erased pixels grey), the restoration (captioned with its similarity to the original), and the
    /// restoration's nearest training image ("NN #index"; the original itself when the model copies).
    /// </summary>
    public static void SaveProbeGrid(string path, ProbeResult probe, Tensor training, int rows = 8, int scale = 2)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var (n, c, h, w) = probe.Originals.Shape.Nchw("probe originals");
        int size = c * h * w;
        var order = Enumerable.Range(0, n).OrderByDescending(i => probe.Report.PerImage[i].Similarity).ThenBy(i => i).Take(rows).ToArray();
        var shown = ImageGrid.ShowErased(probe.Observed.Span, probe.Masks.Span, n, c, h, w);
        var t = training.ToArray();
        var cells = new float[order.Length * 4 * size];
        var captions = new List<string>();
        for (int r = 0; r < order.Length; r++)
        {
            int i = order[r];
            var p = probe.Report.PerImage[i];
            probe.Originals.Span.Slice(i * size, size).CopyTo(cells.AsSpan((r * 4) * size));
            shown.AsSpan(i * size, size).CopyTo(cells.AsSpan((r * 4 + 1) * size));
            probe.Restored.Span.Slice(i * size, size).CopyTo(cells.AsSpan((r * 4 + 2) * size));
            t.AsSpan(p.Indices[0] * size, size).CopyTo(cells.AsSpan((r * 4 + 3) * size));
            captions.AddRange([$"#{p.Image}", "observed", $"sim {p.Similarity:0.000}", $"NN #{p.Indices[0]}"]);
        }
        ImageGrid.Save(path, cells, order.Length * 4, c, h, w, 4, gap: 2, scale: scale, captions: captions);
    }

    /// <summary>Fraction memorized, its held-out baseline and the quality proxy against the corruption level.</summary>
    public static void SaveSweepPlot(string path, SweepResult sweep, string levelLabel = "corruption level p", int width = 720, int height = 420)
    {
        ArgumentNullException.ThrowIfNull(sweep);
        var xs = sweep.Points.Select(p => p.Level).ToArray();
        var plot = new Plot();
        void Line(double[] ys, string label, Color color, LinePattern pattern)
        {
            var s = plot.Add.Scatter(xs, ys, color);
            s.LegendText = label;
            s.LinePattern = pattern;
            s.LineWidth = 2;
            s.MarkerSize = 7;
        }
        Line(sweep.Points.Select(p => p.FractionMemorized).ToArray(), $"fraction memorized (max sim ≥ {sweep.Threshold:0.00} to training)", Colors.DarkRed, LinePattern.Solid);
        Line(sweep.Points.Select(p => p.FractionAboveHeldOut).ToArray(), "same, to held-out images (baseline)", Colors.Gray, LinePattern.Dotted);
        Line(sweep.Points.Select(p => p.QualityProxy).ToArray(), "quality proxy (mean max sim to held-out)", Colors.SteelBlue, LinePattern.Dashed);
        plot.Axes.SetLimitsY(0, 1.05);
        plot.Title($"Memorization and quality against corruption ({sweep.FeatureSpace})");
        plot.XLabel(levelLabel);
        plot.YLabel("fraction / similarity");
        plot.ShowLegend(Alignment.UpperRight);
        plot.SavePng(path, width, height);
    }
}
