using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using AmbientNative.Nn;
using AmbientNative.Tensors;

namespace AmbientNative.Training;

/// <summary>A generator's whole state: <see cref="Rng"/> is counter-based, so two numbers restore it exactly.</summary>
public readonly record struct RngState(ulong Seed, ulong Counter)
{
    public static RngState Of(Rng rng) => new(rng.Seed, rng.Counter);
    public Rng ToRng() => Rng.FromState(Seed, Counter);
}

/// <summary>The training state a checkpoint keeps in its safetensors metadata, besides the tensors.</summary>
public sealed record CheckpointInfo(
    string ModelConfig,
    string TrainerOptions,
    long Step,
    long ImagesSeen,
    IReadOnlyDictionary<string, long> AdamSteps,
    IReadOnlyDictionary<string, RngState> Rngs);

/// <summary>
/// Training checkpoints: one safetensors file per save, <c>checkpoint-&lt;step&gt;.safetensors</c> in the run folder, holding
/// the weights under the model's own (PyTorch-style) names, so the file loads in Python as a state_dict, plus
/// <c>ema.&lt;name&gt;</c>, <c>adam.m.&lt;name&gt;</c>, <c>adam.v.&lt;name&gt;</c>; the metadata holds the rest of the state
/// (<see cref="CheckpointInfo"/>) as strings: format, format_version, model_config (the caller's JSON),
/// trainer_options (JSON), step, images_seen, adam_steps (JSON name → count), rng (JSON name → {seed, counter}).
/// </summary>
/// <remarks>
/// <see cref="Safetensors.Write"/> writes a temporary file and renames it, so a checkpoint file exists only whole; the
/// one with the highest step is therefore the last good one, and no separate "latest" pointer is needed.
/// </remarks>
public static class Checkpoint
{
    public const string Format = "ambient-native-checkpoint";
    public const int FormatVersion = 1;
    public const string EmaPrefix = "ema.", AdamMPrefix = "adam.m.", AdamVPrefix = "adam.v.";
    private const string FilePrefix = "checkpoint-", FileSuffix = ".safetensors";

    public static string FileName(long step) => $"{FilePrefix}{step:D6}{FileSuffix}";

    /// <summary>The checkpoints in <paramref name="runDirectory"/>, oldest (lowest step) first; none if the folder is missing.</summary>
    public static IReadOnlyList<(long Step, string Path)> List(string runDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(runDirectory);
        if (!Directory.Exists(runDirectory)) return [];
        var found = new List<(long, string)>();
        foreach (var path in Directory.EnumerateFiles(runDirectory, FilePrefix + "*" + FileSuffix))
        {
            var name = Path.GetFileName(path);
            var digits = name.AsSpan(FilePrefix.Length, name.Length - FilePrefix.Length - FileSuffix.Length);
            if (long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long step)) found.Add((step, path));
        }
        found.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return found;
    }

    /// <summary>The path of the checkpoint with the highest step, or null when there is none.</summary>
    public static string? FindLatest(string runDirectory) => List(runDirectory) is { Count: > 0 } l ? l[^1].Path : null;

    /// <summary>Writes <paramref name="tensors"/> (any device; copied to the host) and <paramref name="info"/> atomically.</summary>
    public static void Write(string path, IEnumerable<(string Name, Tensor Tensor)> tensors, CheckpointInfo info)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(info);
        var metadata = new Dictionary<string, string>
        {
            ["format"] = Format,
            ["format_version"] = FormatVersion.ToString(CultureInfo.InvariantCulture),
            ["model_config"] = info.ModelConfig,
            ["trainer_options"] = info.TrainerOptions,
            ["step"] = info.Step.ToString(CultureInfo.InvariantCulture),
            ["images_seen"] = info.ImagesSeen.ToString(CultureInfo.InvariantCulture),
            ["adam_steps"] = JsonSerializer.Serialize(info.AdamSteps),
            ["rng"] = JsonSerializer.Serialize(info.Rngs.ToDictionary(kv => kv.Key, kv => new RngJson(kv.Value.Seed, kv.Value.Counter))),
        };
        Safetensors.Write(path, tensors.Select(t => new SafetensorsTensor(t.Name, t.Tensor.ToArray(), t.Tensor.Shape.ToArray())), metadata);
    }

    /// <summary>Reads a checkpoint; throws <see cref="InvalidDataException"/> naming the file and field when its metadata is not a trainer checkpoint's.</summary>
    public static (SafetensorsFile File, CheckpointInfo Info) Read(string path)
    {
        var file = Safetensors.Read(path);
        var m = file.Metadata;
        string Field(string key) => m.TryGetValue(key, out var v) ? v
            : throw Bad(path, $"metadata field '{key}' is missing (not a trainer checkpoint?)");
        long Long(string key) => long.TryParse(Field(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out long x) && x >= 0 ? x
            : throw Bad(path, $"metadata field '{key}' is '{Field(key)}', not a count");
        T Json<T>(string key) where T : class
        {
            try { return JsonSerializer.Deserialize<T>(Field(key)) ?? throw Bad(path, $"metadata field '{key}' is null"); }
            catch (JsonException ex) { throw Bad(path, $"metadata field '{key}' is not valid JSON of the expected form ({ex.Message})", ex); }
        }

        if (Field("format") != Format) throw Bad(path, $"metadata field 'format' is '{Field("format")}', not '{Format}'");
        if (Long("format_version") != FormatVersion)
            throw Bad(path, $"format version {Field("format_version")} is not the version {FormatVersion} this library reads");
        var rngs = Json<Dictionary<string, RngJson>>("rng").ToDictionary(kv => kv.Key, kv => new RngState(kv.Value.Seed, kv.Value.Counter));
        var info = new CheckpointInfo(Field("model_config"), Field("trainer_options"), Long("step"), Long("images_seen"),
            Json<Dictionary<string, long>>("adam_steps"), rngs);
        return (file, info);
    }

    /// <summary>The model config JSON stored in a checkpoint, e.g. to build the model before <see cref="Trainer.Resume"/>.</summary>
    public static string ReadModelConfig(string path) => Read(path).Info.ModelConfig;

    /// <summary>
    /// Loads a checkpoint's weights into <paramref name="model"/> (or its EMA weights, the ones to sample with, when
    /// <paramref name="ema"/> is set). Every parameter must be present with its shape, and every stored weight must
    /// belong to the model.
    /// </summary>
    public static void LoadWeights(string path, Module model, bool ema = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        var (file, _) = Read(path);
        var parameters = model.Parameters().ToList();
        CheckNoStrays(file, path, parameters.Select(p => p.Name).ToHashSet(), onlyWeights: true);
        foreach (var p in parameters) CopyInto(file, path, (ema ? EmaPrefix : "") + p.Name, p);
    }

    /// <summary>Overwrites <paramref name="target"/> with the stored tensor <paramref name="key"/>, after checking it exists and has the same shape.</summary>
    internal static void CopyInto(SafetensorsFile file, string path, string key, Tensor target)
    {
        if (!file.Tensors.TryGetValue(key, out var t))
            throw Bad(path, $"tensor '{key}' is missing (the model has it with shape {target.Shape})");
        if (!t.Shape.AsSpan().SequenceEqual(target.Shape.Dims))
            throw Bad(path, $"tensor '{key}' has shape [{string.Join(", ", t.Shape)}] but the model's is {target.Shape}");
        target.Storage.CopyFrom(t.Data);
    }

    /// <summary>
    /// Fails on a stored tensor that belongs to no parameter: a different architecture must not load silently. With
    /// <paramref name="onlyWeights"/>, ema./adam. tensors are not checked.
    /// </summary>
    internal static void CheckNoStrays(SafetensorsFile file, string path, IReadOnlySet<string> parameterNames, bool onlyWeights)
    {
        foreach (var key in file.Tensors.Keys)
        {
            string name = key;
            foreach (var prefix in (ReadOnlySpan<string>)[EmaPrefix, AdamMPrefix, AdamVPrefix])
                if (key.StartsWith(prefix, StringComparison.Ordinal)) { name = onlyWeights ? "" : key[prefix.Length..]; break; }
            if (name.Length > 0 && !parameterNames.Contains(name))
                throw Bad(path, $"tensor '{key}' matches no parameter of the model");
        }
    }

    private static InvalidDataException Bad(string path, string what, Exception? inner = null) =>
        new($"Checkpoint '{path}': {what}.", inner);

    private sealed record RngJson([property: JsonPropertyName("seed")] ulong Seed, [property: JsonPropertyName("counter")] ulong Counter);
}
