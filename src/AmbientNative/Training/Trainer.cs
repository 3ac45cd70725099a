using System.Diagnostics;
using System.Text.Json;
using AmbientNative.Autograd;
using AmbientNative.Diffusion;
using AmbientNative.Nn;
using AmbientNative.Tensors;

namespace AmbientNative.Training;

/// <summary>What one optimizer step did. <see cref="Loss"/> is the back-propagated value; <see cref="GradNorm"/> is before clipping.</summary>
public sealed record TrainStepResult(long Step, long ImagesSeen, int BatchSize, double Loss,
    IReadOnlyDictionary<string, double> Terms, double GradNorm, double LearningRate);

/// <summary>Reported after every step of <see cref="Trainer.Run"/>; images/s is over the current metrics interval.</summary>
public sealed record TrainProgress(long Step, long TotalSteps, long ImagesSeen, double Loss,
    IReadOnlyDictionary<string, double> Terms, double GradNorm, double LearningRate, double ImagesPerSecond);

public enum TrainStatus { Completed, Cancelled }

/// <summary>How <see cref="Trainer.Run"/> ended; <see cref="CheckpointPath"/> holds the state at <see cref="Step"/>.</summary>
public sealed record TrainResult(TrainStatus Status, long Step, long ImagesSeen, string CheckpointPath);

/// <summary>A loss or gradient became NaN or infinite; the weights were left as they were before the step.</summary>
public sealed class TrainingDivergedException(string message, long step) : Exception(message)
{
    public long Step { get; } = step;
}

/// <summary>
/// EDM's training loop around any <see cref="ITrainingObjective"/>: per step, a batch, the objective on a fresh tape,
/// backward, a finiteness check, optional global-norm clipping, the learning rate of the warm-up, Adam, EMA.
/// Writes metrics.csv, config.json and checkpoints into <see cref="TrainerOptions.RunDirectory"/>.
/// </summary>
/// <remarks>
/// Determinism: the batch of step t is a pure function of (seed, images seen): sample k of the run is element
/// k mod Count of epoch ⌊k / Count⌋'s permutation, drawn from a generator forked per epoch, and it is mirrored when bit 31
/// of Philox block k under a second key is set. The only stateful generators are the objective's noise and the
/// model's dropout (<see cref="IStochasticModule"/>); a checkpoint stores their (seed, counter). With the weights, EMA,
/// Adam moments and step counts restored, <see cref="Resume"/> on the CPU continues bit for bit as the uninterrupted run.
/// </remarks>
public sealed class Trainer : IDisposable
{
    private const string NoiseRng = "noise", DropoutRng = "dropout";

    private readonly Module _model;
    private readonly ITrainingObjective _objective;
    private readonly IBatchSource _data;
    private readonly List<Parameter> _parameters;
    private readonly ParameterArena _arena;
    private readonly LearningRateSchedule _schedule;
    private readonly Rng _orderRoot;
    private readonly ulong _flipKey;
    private readonly int[] _indices;
    private readonly bool[] _flip;
    private Rng _noise;
    private int[] _permutation = [];
    private long _permutationEpoch = -1;
    private long _checkpointStep = -1;
    private bool _disposed;

    /// <summary>Starts a new run in <see cref="TrainerOptions.RunDirectory"/>, which must hold no checkpoint yet.</summary>
    /// <param name="model">The trained parameters' owner; the objective runs this same model.</param>
    /// <param name="modelConfigJson">The model's configuration as JSON, stored in every checkpoint so the model can be rebuilt.</param>
    public Trainer(Module model, ITrainingObjective objective, IBatchSource data, TrainerOptions options, string modelConfigJson)
        : this(model, objective, data, options, modelConfigJson, resuming: false) { }

    private Trainer(Module model, ITrainingObjective objective, IBatchSource data, TrainerOptions options, string modelConfigJson, bool resuming)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(objective);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(modelConfigJson);
        options.Validate();
        try { using var _ = JsonDocument.Parse(modelConfigJson); }
        catch (JsonException ex) { throw new ArgumentException($"Trainer: the model config is not valid JSON ({ex.Message}).", nameof(modelConfigJson), ex); }
        if (data.Count <= 0) throw new ArgumentException("Trainer: the batch source holds no images.", nameof(data));
        if (!resuming && Checkpoint.FindLatest(options.RunDirectory) is { } existing)
            throw new InvalidOperationException($"Trainer: run directory '{options.RunDirectory}' already holds checkpoints (latest '{Path.GetFileName(existing)}'); continue it with Trainer.Resume or choose another RunDirectory.");

        _model = model; _objective = objective; _data = data;
        Options = options;
        ModelConfig = modelConfigJson;
        _parameters = model.Parameters().ToList();
        foreach (var p in _parameters)
            if (p.Name.StartsWith(Checkpoint.EmaPrefix, StringComparison.Ordinal) || p.Name.StartsWith("adam.", StringComparison.Ordinal))
                throw new ArgumentException($"Trainer: parameter name \"{p.Name}\" starts with a prefix that checkpoints reserve (\"ema.\", \"adam.\").", nameof(model));
        // One flat arena for the parameters and their gradients, so Adam, the EMA and the clipping norm are one
        // launch each over the whole model (see ParameterArena).
        _arena = ParameterArena.Adopt(_parameters);
        try
        {
            Optimizer = new Adam(_parameters, options.LearningRate, options.AdamBeta1, options.AdamBeta2, options.AdamEps);
            Ema = new Ema(_parameters, options.EmaHalfLifeImages, options.EmaRampupRatio);
        }
        catch
        {
            // Nothing owns the arena yet: release it (and the moments) so a failed construction leaks no device memory.
            Optimizer?.Dispose();
            _arena.Dispose();
            throw;
        }
        _schedule = new LearningRateSchedule(options.LearningRate, options.WarmupImages);
        var root = new Rng(options.Seed);
        _orderRoot = root.Fork(0);
        _flipKey = root.Fork(1).Seed;
        _noise = root.Fork(2);
        _indices = new int[options.BatchSize];
        _flip = new bool[options.BatchSize];
    }

    public TrainerOptions Options { get; }
    public string ModelConfig { get; }
    public Adam Optimizer { get; }
    /// <summary>The averaged weights: the ones to sample with.</summary>
    public Ema Ema { get; }
    /// <summary>Optimizer steps taken so far.</summary>
    public long Step { get; private set; }
    public long ImagesSeen { get; private set; }
    /// <summary>The checkpoint written or resumed from most recently, or null.</summary>
    public string? LastCheckpoint { get; private set; }

    /// <summary>
    /// Continues the run in <paramref name="runDirectory"/> from its checkpoint with the highest step, with the options
    /// stored there (<paramref name="changeOptions"/> may alter them, e.g. to lengthen the run; the next steps then
    /// differ from the original run's only where the change reaches). <paramref name="model"/> must have the
    /// checkpoint's architecture (<see cref="Checkpoint.ReadModelConfig"/> gives its config); its weights are overwritten.
    /// </summary>
    public static Trainer Resume(string runDirectory, Module model, ITrainingObjective objective, IBatchSource data,
        Func<TrainerOptions, TrainerOptions>? changeOptions = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(runDirectory);
        string path = Checkpoint.FindLatest(runDirectory)
            ?? throw new FileNotFoundException($"Trainer.Resume: no checkpoint-<step>.safetensors in '{runDirectory}'.");
        var (file, info) = Checkpoint.Read(path);
        TrainerOptions options;
        try { options = JsonSerializer.Deserialize<TrainerOptions>(info.TrainerOptions) ?? throw new JsonException("null"); }
        catch (JsonException ex) { throw new InvalidDataException($"Checkpoint '{path}': metadata field 'trainer_options' is not valid options JSON ({ex.Message}).", ex); }
        options = options with { RunDirectory = runDirectory };
        if (changeOptions != null) options = changeOptions(options);
        var trainer = new Trainer(model, objective, data, options, info.ModelConfig, resuming: true);
        try { trainer.Restore(file, info, path); }
        catch { trainer.Dispose(); throw; }
        return trainer;
    }

    /// <summary>
    /// Trains until the run length in the options, writing metrics and checkpoints. Cancellation stops after the current
    /// step and writes a checkpoint; a non-finite loss or gradient throws <see cref="TrainingDivergedException"/>, with
    /// the weights as before that step and the checkpoints on disk untouched.
    /// </summary>
    public TrainResult Run(IProgress<TrainProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Directory.CreateDirectory(Options.RunDirectory);
        WriteConfig();
        using var metrics = MetricsLog.Open(Options.RunDirectory, Step);
        _model.Train();
        long total = Options.Steps;
        var watch = new Stopwatch();
        double lr = 0;
        while (Step < total && !cancellationToken.IsCancellationRequested)
        {
            watch.Restart();
            var r = TrainStep();
            metrics.Add(r, watch.Elapsed.TotalSeconds);
            lr = r.LearningRate;
            progress?.Report(new TrainProgress(r.Step, total, r.ImagesSeen, r.Loss, r.Terms, r.GradNorm, lr, metrics.ImagesPerSecond));
            if (Step % Options.MetricsEvery == 0 || Step == total) metrics.WriteRow(Step, ImagesSeen, lr);
            if (Options.CheckpointEvery > 0 && Step % Options.CheckpointEvery == 0) SaveCheckpoint();
        }
        metrics.WriteRow(Step, ImagesSeen, lr); // the partial interval of a cancelled run; nothing otherwise
        string latest = _checkpointStep == Step && LastCheckpoint != null ? LastCheckpoint : SaveCheckpoint();
        return new TrainResult(Step < total ? TrainStatus.Cancelled : TrainStatus.Completed, Step, ImagesSeen, latest);
    }

    /// <summary>One optimizer step on the next batch (public so tests can compare single steps).</summary>
    public TrainStepResult TrainStep()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        long step = Step + 1;
        int batchSize = Options.BatchSize;
        FillBatch(ImagesSeen);
        Optimizer.ZeroGrad();
        double loss;
        IReadOnlyDictionary<string, double> terms;
        var batch = _data.Load(_indices, _flip, _model.Device);
        try
        {
            using var tape = new Tape();
            var result = _objective.Compute(batch, _noise);
            terms = result.Terms;
            loss = result.Loss.Item();
            if (!double.IsFinite(loss))
            {
                var bad = terms.Where(t => !double.IsFinite(t.Value)).Select(t => $"{t.Key} = {t.Value}").ToList();
                throw Diverged(step, $"the loss is {loss} ({(bad.Count > 0 ? "non-finite terms: " + string.Join(", ", bad) : "every logged term is finite")})");
            }
            tape.Backward(result.Loss);
        }
        finally { BatchStaging.Dispose(batch); }

        // Clipping leaves non-finite gradients untouched, so one pass gives the norm both for the check and for the log.
        double norm = Options.GradientClipMaxNorm > 0
            ? GradientClipping.ClipGlobalNorm(_parameters, Options.GradientClipMaxNorm)
            : GradientClipping.GlobalNorm(_parameters);
        if (!double.IsFinite(norm))
        {
            var culprit = _parameters.FirstOrDefault(p => p.Grad is { } g && !p.Device.Backend.AllFinite(g));
            Optimizer.ZeroGrad();
            throw Diverged(step, $"the loss is finite ({loss}) but the gradient norm is {norm}; first non-finite gradient: '{culprit?.Name}'");
        }

        double lr = _schedule.At(ImagesSeen);
        Optimizer.Lr = lr;
        Optimizer.Step();
        Ema.Update(ImagesSeen, batchSize); // EDM: β from the images seen before this step
        Optimizer.ZeroGrad();              // frees the gradients between steps
        ImagesSeen += batchSize;
        Step = step;
        AlignGenerators();
        return new TrainStepResult(step, ImagesSeen, batchSize, loss, terms, norm, lr);
    }

    /// <summary>Writes checkpoint-&lt;step&gt;.safetensors with the whole training state, then drops the oldest beyond <see cref="TrainerOptions.KeepCheckpoints"/>.</summary>
    public string SaveCheckpoint()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Directory.CreateDirectory(Options.RunDirectory);
        string path = Path.Combine(Options.RunDirectory, Checkpoint.FileName(Step));
        var tensors = new List<(string, Tensor)>();
        foreach (var p in _parameters) tensors.Add((p.Name, p));
        foreach (var e in Ema.Parameters) tensors.Add((Checkpoint.EmaPrefix + e.Name, e));
        foreach (var s in Optimizer.States)
        {
            tensors.Add((Checkpoint.AdamMPrefix + s.Name, s.M));
            tensors.Add((Checkpoint.AdamVPrefix + s.Name, s.V));
        }
        var rngs = new Dictionary<string, RngState> { [NoiseRng] = RngState.Of(_noise) };
        if (_model is IStochasticModule sm) rngs[DropoutRng] = RngState.Of(sm.DropoutRng);
        var info = new CheckpointInfo(ModelConfig, JsonSerializer.Serialize(Options), Step, ImagesSeen,
            Optimizer.States.ToDictionary(s => s.Name, s => s.Step), rngs);
        Checkpoint.Write(path, tensors, info);
        LastCheckpoint = path;
        _checkpointStep = Step;
        if (Options.KeepCheckpoints > 0)
        {
            var all = Checkpoint.List(Options.RunDirectory);
            for (int i = 0; i < all.Count - Options.KeepCheckpoints; i++)
                if (all[i].Path != path) File.Delete(all[i].Path);
        }
        return path;
    }

    private void Restore(SafetensorsFile file, CheckpointInfo info, string path)
    {
        Checkpoint.CheckNoStrays(file, path, _parameters.Select(p => p.Name).ToHashSet(), onlyWeights: false);
        foreach (var p in _parameters) Checkpoint.CopyInto(file, path, p.Name, p);
        foreach (var e in Ema.Parameters) Checkpoint.CopyInto(file, path, Checkpoint.EmaPrefix + e.Name, e);
        foreach (var s in Optimizer.States)
        {
            Checkpoint.CopyInto(file, path, Checkpoint.AdamMPrefix + s.Name, s.M);
            Checkpoint.CopyInto(file, path, Checkpoint.AdamVPrefix + s.Name, s.V);
            s.Step = info.AdamSteps.TryGetValue(s.Name, out long n) ? n
                : throw new InvalidDataException($"Checkpoint '{path}': adam_steps has no count for parameter '{s.Name}'.");
        }
        _noise = Generator(info, path, NoiseRng);
        if (_model is IStochasticModule sm) sm.DropoutRng = Generator(info, path, DropoutRng);
        else if (info.Rngs.ContainsKey(DropoutRng))
            throw new InvalidDataException($"Checkpoint '{path}': it holds a dropout generator but the model ({_model.GetType().Name}) is not an IStochasticModule.");
        Step = info.Step;
        ImagesSeen = info.ImagesSeen;
        LastCheckpoint = path;
        _checkpointStep = Step;
    }

    private static Rng Generator(CheckpointInfo info, string path, string name) => info.Rngs.TryGetValue(name, out var s) ? s.ToRng()
        : throw new InvalidDataException($"Checkpoint '{path}': metadata field 'rng' has no '{name}' generator.");

    // Rng hands out a 128-bit block 32 bits at a time; (seed, counter) cannot express a half-used block. Dropping the
    // rest of the block at every step boundary makes the state after a step exactly what a checkpoint stores, so a
    // resumed run draws what the uninterrupted one draws.
    private void AlignGenerators()
    {
        _noise.Advance(0);
        if (_model is IStochasticModule sm) sm.DropoutRng.Advance(0);
    }

    // Batch of the step that starts at images seen `start`: samples start … start + B − 1 of the endless shuffled stream.
    private void FillBatch(long start)
    {
        int count = _data.Count;
        Span<uint> block = stackalloc uint[4];
        for (int b = 0; b < _indices.Length; b++)
        {
            long k = start + b, epoch = k / count;
            if (epoch != _permutationEpoch)
            {
                _permutation = _orderRoot.Fork((ulong)epoch).Permutation(count);
                _permutationEpoch = epoch;
            }
            _indices[b] = _permutation[k % count];
            if (Options.HorizontalFlip)
            {
                Rng.Block(_flipKey, (ulong)k, block);
                _flip[b] = (block[0] >> 31) != 0;
            }
        }
    }

    private TrainingDivergedException Diverged(long step, string what) => new(
        $"Trainer: training diverged at step {step} (images seen {ImagesSeen}): {what}. The weights were not updated; " +
        $"the last good checkpoint is {(LastCheckpoint != null ? $"'{LastCheckpoint}'" : "none (none written yet)")}.", step);

    private void WriteConfig()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WritePropertyName("model");
            json.WriteRawValue(ModelConfig);
            json.WritePropertyName("trainer");
            JsonSerializer.Serialize(json, Options);
            json.WriteEndObject();
        }
        File.WriteAllBytes(Path.Combine(Options.RunDirectory, "config.json"), stream.ToArray());
    }

    /// <summary>
    /// Frees the optimizer moments, the EMA copies and the parameter arena (the model's parameters keep their values
    /// and go back to per-parameter gradients); the model, objective and data belong to the caller.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Optimizer.Dispose();
        Ema.Dispose();
        _arena.Dispose();
    }
}
