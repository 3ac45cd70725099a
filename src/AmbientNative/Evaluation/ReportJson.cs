using System.Text.Json;

namespace AmbientNative.Evaluation;

/// <summary>JSON file I/O shared by the evaluation reports: indented, written to a temporary file and renamed.</summary>
internal static class ReportJson
{
    internal static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    internal static void Save<T>(T report, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        File.WriteAllBytes(tmp, JsonSerializer.SerializeToUtf8Bytes(report, Options));
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Reads a report and checks its format tag; errors name the file.</summary>
    internal static T Load<T>(string path, string format, Func<T, string?> formatOf) where T : class
    {
        T? report;
        try
        {
            report = JsonSerializer.Deserialize<T>(File.ReadAllBytes(path), Options);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid {format} report ({e.Message}).", e);
        }
        if (report == null || formatOf(report) != format)
            throw new InvalidDataException($"{path}: field \"format\" is \"{(report == null ? null : formatOf(report))}\", expected \"{format}\".");
        return report;
    }
}
