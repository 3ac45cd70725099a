using AmbientNative.Evaluation;
using AmbientNative.Imaging;
using AmbientNative.Tensors;
using ScottPlot;
using SkiaSharp;

namespace Ambient.Cli.Common;

/// <summary>The demo's side-by-side pictures: grids under titles, and both similarity histograms on one axis.</summary>
internal static class ComparisonFigures
{
    /// <summary>Image grids next to each other, each under its title (e.g. training data | clean samples | ambient samples).</summary>
    public static void SaveGrids(string path, IReadOnlyList<(string Title, Tensor Images)> panels, int count = 36)
    {
        const int titleHeight = 22, margin = 12;
        var bitmaps = new List<SKBitmap>();
        try
        {
            foreach (var (_, images) in panels)
            {
                var (n, c, h, w) = images.Shape.Nchw("comparison panel");
                int k = Math.Min(n, count);
                bitmaps.Add(ImageGrid.Render(images.ToArray().AsSpan(0, k * c * h * w), k, c, h, w, Grids.Columns(k), scale: Math.Max(1, 48 / h)));
            }
            int width = bitmaps.Sum(b => b.Width) + margin * (bitmaps.Count + 1);
            int height = bitmaps.Max(b => b.Height) + titleHeight + 2 * margin;
            using var canvas = new SKBitmap(width, height);
            using (var g = new SKCanvas(canvas))
            {
                g.Clear(SKColors.White);
                var typeface = SKTypeface.FromFamilyName("sans-serif");
                using var font = new SKFont(typeface, 15) { Edging = SKFontEdging.Antialias };
                using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
                int x = margin;
                for (int i = 0; i < bitmaps.Count; i++)
                {
                    if (typeface.GlyphCount > 0) // a machine without fonts gets the pictures without titles
                        g.DrawText(panels[i].Title, x + bitmaps[i].Width / 2f, margin + 15, SKTextAlign.Center, font, paint);
                    g.DrawBitmap(bitmaps[i], x, margin + titleHeight);
                    x += bitmaps[i].Width + margin;
                }
            }
            ImageIO.Save(canvas, path);
        }
        finally { foreach (var b in bitmaps) b.Dispose(); }
    }

    /// <summary>The max-similarity histograms of several reports overlaid, with the 0.95 "memorized" threshold.</summary>
    public static void SaveHistograms(string path, IReadOnlyList<(string Name, MemorizationReport Report)> reports, int width = 720, int height = 420)
    {
        var plot = new Plot();
        Color[] colors = [Colors.DarkRed, Colors.SteelBlue, Colors.DarkGreen, Colors.DarkOrange];
        int first = int.MaxValue, last = 0;
        foreach (var (_, r) in reports)
        {
            var counts = r.MaxSimilarity.Histogram.Counts;
            first = Math.Min(first, Array.FindIndex(counts, c => c > 0));
            last = Math.Max(last, Array.FindLastIndex(counts, c => c > 0));
        }
        var h0 = reports[0].Report.MaxSimilarity.Histogram;
        last = Math.Max(last, (int)((0.99 - h0.Lo) / (h0.Hi - h0.Lo) * h0.Bins));
        first = Math.Max(0, first - 1);
        last = Math.Min(h0.Bins - 1, last + 1);
        double binWidth = (h0.Hi - h0.Lo) / h0.Bins;
        for (int k = 0; k < reports.Count; k++)
        {
            var (name, r) = reports[k];
            var h = r.MaxSimilarity.Histogram;
            var color = colors[k % colors.Length].WithAlpha(0.55);
            var bars = new List<Bar>();
            for (int i = first; i <= last; i++)
                if (h.Counts[i] > 0)
                    bars.Add(new Bar { Position = h.Lo + (i + 0.5) * binWidth, Value = h.Counts[i], Size = binWidth, LineWidth = 0, FillColor = color });
            plot.Add.Bars(bars);
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = $"{name}: {r.MaxSimilarity.FractionAbove(0.95):P0} ≥ 0.95", FillColor = color });
        }
        plot.Add.VerticalLine(0.95, 1.5f, Colors.Black, LinePattern.Dashed);
        plot.Axes.SetLimitsX(h0.Lo + first * binWidth, h0.Lo + (last + 1) * binWidth);
        plot.Axes.Margins(bottom: 0);
        plot.Title("Max similarity of each sample to the training set");
        plot.XLabel($"max cosine similarity ({reports[0].Report.FeatureSpace}); dashed: 0.95 = memorized");
        plot.YLabel("samples");
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SavePng(path, width, height);
    }
}
