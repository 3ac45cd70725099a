using System.Diagnostics;
using AmbientNative.Data;
using AmbientNative.Diffusion;
using AmbientNative.Diffusion.Corruption;
using AmbientNative.Tensors;
using AmbientNative.Training;
using Spectre.Console;

namespace Ambient.Cli.Common;

/// <summary>How a training run ended and where its files are.</summary>
internal sealed record TrainOutcome(string RunDirectory, string Checkpoint, RunConfig Config, TrainStatus Status,
    long Step, long ImagesSeen, double RecentLoss, double Seconds, double ImagesPerSecond, long Parameters)
{
    /// <summary>samples.npy of the end-of-run samples, when they were drawn.</summary>
    public string? SamplesNpy { get; init; }
}

/// <summary>
/// A training run end to end, shared by <c>train</c>, <c>sweep</c> and <c>demo</c>: load the data, corrupt it as the
/// method says (fixed per image by the seed), write what the model sees as a grid, train with a progress bar, then
/// sample from the EMA weights into samples.png / samples.npy.
/// </summary>
internal static class TrainingRun
{
    /// <summary>Loads the data a run config names and says what was loaded (and what was skipped).</summary>
    public static ImageDataset LoadData(CliContext cli, DataSpec spec)
    {
        var ds = spec.Load(cli.Cancellation);
        cli.Note($"data: {ds.Count} images {ds.Channels}×{ds.Height}×{ds.Width} from {(spec.IsBuiltin ? spec.Source : ds.Source)}" +
                 (spec.Limit is { } l ? $" (seeded subset, --limit {l})" : ""));
        if (ds.Skipped.Count > 0)
            cli.Warn($"skipped {ds.Skipped.Count} bad file(s) (--skip-bad), e.g. {ds.Skipped[0].Path}: {ds.Skipped[0].Reason}");
        if (ds.HasMasks)
        {
            double observed = 0;
            foreach (float m in ds.Masks) observed += m;
            cli.Note($"data: masks given with the images (*.mask.png): {100 * (1 - observed / ds.Masks.Length):F1} % of pixels erased; they are used as A");
        }
        return ds;
    }

    /// <summary>Starts a new run in <paramref name="runDirectory"/>.</summary>
    public static TrainOutcome Start(CliContext cli, TrainSettings s, string runDirectory, Device device, ImageDataset? data = null)
    {
        var ds = data ?? LoadData(cli, new DataSpec(s.Data, s.Limit, s.Channels, s.EffectiveResolution, s.Seed, s.SkipBad));
        var config = s.ToRunConfig(ds.Channels);
        var options = s.ToTrainerOptions(runDirectory);
        if (Checkpoint.FindLatest(runDirectory) is { } existing)
            throw new UsageException($"--out {runDirectory} already holds a run ({Path.GetFileName(existing)}); continue it with --resume {runDirectory}, or pick another --out.");
        CheckSchedule(cli, options);
        using var model = config.BuildModel(device, Seeds.For(s.Seed, Seeds.Weights));
        var denoiser = config.BuildDenoiser(model);
        var corrupted = Corrupt(ds, config);
        using var trainer = new Trainer(model, config.BuildObjective(denoiser), new CorruptedBatchSource(corrupted), options, config.ToJson());
        return Execute(cli, trainer, config, corrupted, model.ParameterCount(), device, s.SampleCount, s.SampleSteps);
    }

    /// <summary>Continues the run in <paramref name="runDirectory"/> from its newest checkpoint, optionally to a new length.</summary>
    public static TrainOutcome Resume(CliContext cli, string runDirectory, long? steps, long? images, Device device, int sampleCount, int sampleSteps)
    {
        string path = ModelFile.Find(runDirectory);
        var (_, info) = Checkpoint.Read(path);
        var config = RunConfig.FromJson(info.ModelConfig, path);
        cli.Note($"resuming {path} (step {info.Step}, {info.ImagesSeen} images seen)");
        var ds = LoadData(cli, config.Data);
        using var model = config.BuildModel(device, seed: 0); // weights come from the checkpoint
        var denoiser = config.BuildDenoiser(model);
        var corrupted = Corrupt(ds, config);
        using var trainer = Trainer.Resume(runDirectory, model, config.BuildObjective(denoiser), new CorruptedBatchSource(corrupted),
            o => steps is { } st ? o with { TotalSteps = st, TotalImages = 0 } : images is { } im ? o with { TotalImages = im, TotalSteps = 0 } : o);
        if (trainer.Step >= trainer.Options.Steps)
            throw new UsageException($"--resume {runDirectory}: the run is already at step {trainer.Step} of {trainer.Options.Steps}; give a longer --steps or --images to continue it.");
        return Execute(cli, trainer, config, corrupted, model.ParameterCount(), device, sampleCount, sampleSteps);
    }

    /// <summary>The training set as the user would have it: corrupted once, per image, from the run's corruption seed.</summary>
    public static CorruptedDataset Corrupt(ImageDataset ds, RunConfig config)
    {
        var u = config.UNet;
        if (ds.Channels != u.ImageChannels || ds.Height != u.Resolution || ds.Width != u.Resolution)
            throw new InvalidDataException($"data '{config.Data.Source}' gives images {ds.Channels}×{ds.Height}×{ds.Width}, but the model takes {u.ImageChannels}×{u.Resolution}×{u.Resolution}.");
        if (ds.HasMasks)
        {
            var c = config.Corruption;
            if (c.Kind != CorruptionKind.PixelErase || c.PerChannel)
                throw new UsageException($"--data {config.Data.Source}: the images come with their own masks (*.mask.png); train them with --method ambient (pixel erasure, masks shared over channels).");
            return CorruptedDataset.FromGivenMasks(ds.Images, ds.Masks, ds.Count, ds.Channels, ds.Height, ds.Width, c.Delta, c.Seed);
        }
        return new CorruptedDataset(ds.Images, ds.Count, ds.Channels, ds.Height, ds.Width, config.Corruption);
    }

    private static TrainOutcome Execute(CliContext cli, Trainer trainer, RunConfig config, CorruptedDataset data, long parameters,
        Device device, int sampleCount, int sampleSteps)
    {
        string dir = trainer.Options.RunDirectory;
        Directory.CreateDirectory(dir);
        Grids.SaveTrainingData(Path.Combine(dir, Grids.TrainingData), data);
        var o = trainer.Options;
        cli.Note($"{config.Method.ToString().ToLowerInvariant()} on {config.CorruptionText}; U-Net '{config.Preset}' {config.UNet.Resolution}×{config.UNet.Resolution}, " +
                 $"{parameters / 1e6:0.###} M parameters; batch {o.BatchSize}, {o.Steps} steps; {device.Name}");

        var recent = new Queue<double>();
        double imagesPerSecond = 0;
        long startStep = trainer.Step;
        var clock = Stopwatch.StartNew();
        var result = ProgressView.Run(cli, $"train {config.Method.ToString().ToLowerInvariant()}", o.Steps - startStep, report =>
            trainer.Run(new Progress(p =>
            {
                recent.Enqueue(p.Loss);
                if (recent.Count > 50) recent.Dequeue();
                if (p.ImagesPerSecond > 0) imagesPerSecond = p.ImagesPerSecond;
                report(p.Step - startStep, $"train {config.Method.ToString().ToLowerInvariant()} · step {p.Step}/{p.TotalSteps} · loss {recent.Average():0.0000} · {imagesPerSecond:0} img/s");
            }), cli.Cancellation));
        double seconds = clock.Elapsed.TotalSeconds;
        var outcome = new TrainOutcome(dir, result.CheckpointPath, config, result.Status, result.Step, result.ImagesSeen,
            recent.Count > 0 ? recent.Average() : double.NaN, seconds, imagesPerSecond, parameters);
        if (result.Status == TrainStatus.Cancelled)
        {
            cli.Warn($"stopped at step {result.Step}; checkpoint {result.CheckpointPath}. Continue with: ambient train --resume {dir}");
            return outcome;
        }
        if (sampleCount > 0)
        {
            using var file = ModelFile.Load(result.CheckpointPath, device, ema: true);
            using var samples = ProgressView.Run(cli, $"sample {sampleCount} (EMA weights)", sampleCount,
                report => Sampling.Generate(config, file.Model, sampleCount, sampleSteps, seed: 0, report, cli.Cancellation));
            Grids.SaveSamples(Path.Combine(dir, Grids.Samples), samples);
            string npy = Path.Combine(dir, "samples.npy");
            NpyFile.Write(npy, samples);
            outcome = outcome with { SamplesNpy = npy };
        }
        return outcome;
    }

    /// <summary>The EDM defaults assume hundreds of millions of images; say so when they make a short run learn nothing.</summary>
    private static void CheckSchedule(CliContext cli, TrainerOptions o)
    {
        double images = (double)o.Steps * o.BatchSize;
        if (o.WarmupImages > images)
            cli.Warn($"the learning-rate warm-up ({o.WarmupImages:N0} images, EDM's default) is longer than this run ({images:N0} images): " +
                     $"the rate never reaches --lr. Pass a smaller --warmup (e.g. --warmup {Math.Round(images / 10):0}).");
        if (o.EmaHalfLifeImages > images)
            cli.Warn($"the EMA half-life ({o.EmaHalfLifeImages:N0} images) is longer than this run ({images:N0} images): " +
                     "the EMA weights (sampled at the end) stay close to the initial ones. Pass a smaller --ema-halflife.");
    }

    /// <summary>A synchronous IProgress (System.Progress would post to the thread pool and reorder reports).</summary>
    private sealed class Progress(Action<TrainProgress> report) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress value) => report(value);
    }

    /// <summary>The end-of-run table.</summary>
    public static Table Summary(TrainOutcome r)
    {
        var t = new Table().Border(TableBorder.Rounded).AddColumn("run").AddColumn(new TableColumn("").LeftAligned());
        t.AddRow("method", Markup.Escape($"{r.Config.Method.ToString().ToLowerInvariant()} ({r.Config.CorruptionText})"));
        t.AddRow("model", Markup.Escape($"U-Net '{r.Config.Preset}', {r.Parameters / 1e6:0.###} M parameters, {r.Config.UNet.Resolution}×{r.Config.UNet.Resolution}"));
        t.AddRow("steps", $"{r.Step} ({r.ImagesSeen:N0} images)");
        t.AddRow("loss (last 50 steps)", $"{r.RecentLoss:0.0000}");
        t.AddRow("time", $"{r.Seconds:0.0} s, {r.ImagesPerSecond:0} img/s");
        t.AddRow("checkpoint", Markup.Escape(r.Checkpoint));
        return t;
    }
}
