using System.Text.Json;
using AmbientNative.Evaluation;
using AmbientNative.Imaging;
using AmbientNative.Onnx;
using AmbientNative.Tensors;
using Spectre.Console;

namespace Ambient.Cli.Common;

/// <summary>The memorization measurement (METHOD §4) as the commands run it, and where its inputs come from.</summary>
internal static class Memorization
{
    /// <summary>pixel, or a path to an ONNX image model (e.g. an exported DINOv2, the papers' feature space).</summary>
    public static IFeatureExtractor Features(string features)
    {
        if (features == "pixel") return new PixelFeatures();
        if (!features.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            throw new UsageException($"--features {features}: expected pixel or a path to an .onnx image model (e.g. an exported DINOv2).");
        if (!File.Exists(features)) throw new FileNotFoundException($"--features: ONNX model '{features}' does not exist.");
        return new OnnxFeatureExtractor(features, OnnxExtractorOptions.DinoV2);
    }

    /// <summary>
    /// Report of how close <paramref name="samples"/> come to <paramref name="training"/>, written with its pictures
    /// (report.json, similarity_histogram.png, nearest_neighbours.png) into <paramref name="dir"/>.
    /// </summary>
    public static MemorizationReport Evaluate(CliContext cli, Tensor samples, Tensor training, IFeatureExtractor features, Device device, string dir)
    {
        var nn = NearestNeighbours.Search(features, samples, training, new NeighbourSearchOptions { Device = device }, cli.Cancellation);
        var report = MemorizationReport.From(nn, features.Name);
        EvaluationFigures.WriteMemorization(dir, report, samples, training, rows: 8, scale: Grids.Scale(samples.Shape[2]));
        return report;
    }

    /// <summary>One column per report: the similarity statistics side by side.</summary>
    public static Table Table(params (string Name, MemorizationReport Report)[] reports)
    {
        var t = new Table().Border(TableBorder.Rounded).AddColumn("max similarity of a sample to the training set");
        foreach (var (name, _) in reports) t.AddColumn(new TableColumn(Markup.Escape(name)).RightAligned());
        void Row(string label, Func<MemorizationReport, string> cell) => t.AddRow([label, .. reports.Select(r => cell(r.Report))]);
        Row("samples / training images", r => $"{r.Samples} / {r.TrainingImages}");
        foreach (double th in SimilarityStats.DefaultThresholds)
            Row($"fraction ≥ {th:0.00}" + (th == 0.95 ? " [bold](memorized)[/]" : ""), r => $"{r.MaxSimilarity.FractionAbove(th):P1}");
        Row("mean", r => $"{r.MaxSimilarity.Mean:0.000}");
        Row("median", r => $"{r.MaxSimilarity.Median:0.000}");
        Row("max", r => $"{r.MaxSimilarity.Max:0.000}");
        t.Caption($"feature space: {Markup.Escape(reports[0].Report.FeatureSpace)}");
        return t;
    }

    /// <summary>
    /// The run config behind a samples file: samples.json beside it (written by <c>sample</c>) names the checkpoint;
    /// config.json beside it (a train run folder) holds it directly. Null when neither is there.
    /// </summary>
    public static RunConfig? ConfigBeside(string samplesPath)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(samplesPath))!;
        string info = Path.Combine(dir, "samples.json"), config = Path.Combine(dir, "config.json");
        try
        {
            if (File.Exists(info))
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(info));
                string ckpt = doc.RootElement.GetProperty("checkpoint").GetString()!;
                var (_, ci) = AmbientNative.Training.Checkpoint.Read(ModelFile.Find(ckpt));
                return RunConfig.FromJson(ci.ModelConfig, ckpt);
            }
            if (File.Exists(config))
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(config));
                return RunConfig.FromJson(doc.RootElement.GetProperty("model").GetRawText(), config);
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException)
        {
            throw new InvalidDataException($"'{info}' / '{config}' beside the samples cannot be read ({e.Message}); give the training data with --data.", e);
        }
        return null;
    }
}
