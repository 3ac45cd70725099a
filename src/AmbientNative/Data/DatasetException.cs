namespace AmbientNative.Data;

/// <summary>
/// A dataset file or folder could not be used. The message names the file (or folder) and what is wrong with it;
/// <see cref="Path"/> holds it separately for callers that list bad files.
/// </summary>
public sealed class DatasetException : Exception
{
    public DatasetException(string path, string problem, Exception? inner = null)
        : base($"{path}: {problem}", inner)
    {
        Path = path;
        Problem = problem;
    }

    /// <summary>The file or folder at fault.</summary>
    public string Path { get; }
    /// <summary>What is wrong with it, without the path.</summary>
    public string Problem { get; }
}

/// <summary>A file that a loader skipped (with <c>skipBad</c>) instead of failing, and why.</summary>
public sealed record SkippedFile(string Path, string Reason)
{
    public override string ToString() => $"{Path}: {Reason}";
}
