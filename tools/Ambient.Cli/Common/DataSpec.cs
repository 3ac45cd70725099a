using System.Text.Json.Serialization;
using AmbientNative.Data;
using AmbientNative.Imaging;

namespace Ambient.Cli.Common;

/// <summary>
/// Where the training images come from and how they are shaped, exactly as stored in a run's config, so that
/// <c>sample</c>, <c>memorization</c> and <c>probe</c> reload the very images a checkpoint was trained on.
/// </summary>
/// <param name="Source">A path (image folder, IDX[.gz], CIFAR-10, .npy) or <c>builtin:shapes[:N]</c>.</param>
/// <param name="Limit">A fixed subset of this many images, drawn with <paramref name="Seed"/>.</param>
/// <param name="Channels">1 or 3; null keeps the source's.</param>
/// <param name="Resolution">Side of the square images the model sees (resized and centre-cropped).</param>
internal sealed record DataSpec(
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("limit")] int? Limit,
    [property: JsonPropertyName("channels")] int? Channels,
    [property: JsonPropertyName("resolution")] int Resolution,
    [property: JsonPropertyName("seed")] ulong Seed,
    [property: JsonPropertyName("skip_bad")] bool SkipBad = false)
{
    public const string BuiltinPrefix = "builtin:";
    /// <summary>Images in <c>builtin:shapes</c> when no count is given.</summary>
    public const int DefaultBuiltinCount = 1000;

    public bool IsBuiltin => Source.StartsWith(BuiltinPrefix, StringComparison.Ordinal);

    /// <summary>Loads the images; a <see cref="DatasetException"/> names the file and what is wrong with it.</summary>
    public ImageDataset Load(CancellationToken cancellationToken = default)
    {
        if (IsBuiltin)
        {
            int count = ParseBuiltin(Source);
            // The procedural set renders at the model's resolution directly (no resampling blur).
            var ds = ProceduralShapes.Generate(count, Resolution, Channels ?? 3, seed: 0);
            return Limit is { } n ? ds.Limit(n, Seed) : ds;
        }
        return DatasetLoader.Load(Source, new DatasetOptions
        {
            Resolution = Resolution, Channels = Channels, Limit = Limit, Seed = Seed, SkipBad = SkipBad,
        }, cancellationToken);
    }

    /// <summary>The image count of <c>builtin:shapes[:N]</c>; a <see cref="UsageException"/> for anything else.</summary>
    public static int ParseBuiltin(string source)
    {
        var parts = source[BuiltinPrefix.Length..].Split(':');
        if (parts[0] != "shapes" || parts.Length > 2)
            throw new UsageException($"--data {source}: the only built-in dataset is builtin:shapes[:N] (procedural shapes, N images).");
        if (parts.Length == 1) return DefaultBuiltinCount;
        return int.TryParse(parts[1], out int n) && n >= 1 ? n
            : throw new UsageException($"--data {source}: N must be a positive integer (e.g. builtin:shapes:300).");
    }
}
