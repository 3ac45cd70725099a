using System.Globalization;
using System.Text;

namespace AmbientNative.Training;

/// <summary>
/// metrics.csv of a run: <c>step,images_seen,loss,&lt;other terms&gt;,grad_norm,lr,images_per_s</c>, one row per
/// interval of steps holding the mean of each term and of the gradient norm over the interval, the learning rate of
/// its last step, and the throughput of its steps (checkpoint writes excluded). Flushed after every row so a crash
/// loses nothing written. The term columns are fixed by the first step (or by the header of a resumed run's file).
/// </summary>
internal sealed class MetricsLog : IDisposable
{
    public const string FileName = "metrics.csv";
    private const string Head = "step,images_seen,loss", Tail = "grad_norm,lr,images_per_s";

    private readonly string _path;
    private readonly StreamWriter _writer;
    private string[]? _terms;   // objective terms other than "loss", in column order
    private double[] _sums = [];
    private double _lossSum, _normSum, _seconds;
    private int _steps;
    private long _images;

    private MetricsLog(string path, StreamWriter writer, string[]? terms)
    {
        _path = path; _writer = writer; _terms = terms;
        if (terms != null) _sums = new double[terms.Length];
    }

    /// <summary>
    /// A new file for a fresh run (<paramref name="resumeStep"/> = 0); for a resumed run, the existing file without the
    /// rows after <paramref name="resumeStep"/> (they belong to steps the checkpoint does not have), appended to.
    /// </summary>
    public static MetricsLog Open(string runDirectory, long resumeStep)
    {
        string path = Path.Combine(runDirectory, FileName);
        string[]? terms = null;
        if (resumeStep > 0 && File.Exists(path))
        {
            var lines = File.ReadAllLines(path);
            if (lines.Length > 0)
            {
                terms = ParseHeader(path, lines[0]);
                var kept = lines.Take(1).Concat(lines.Skip(1).Where(l =>
                    long.TryParse(l.AsSpan(0, Math.Max(l.IndexOf(','), 0)), NumberStyles.None, CultureInfo.InvariantCulture, out long s) && s <= resumeStep));
                string temp = path + ".tmp";
                File.WriteAllLines(temp, kept);
                File.Move(temp, path, overwrite: true);
            }
        }
        var stream = new FileStream(path, terms != null ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.Read);
        return new MetricsLog(path, new StreamWriter(stream, new UTF8Encoding(false)), terms);
    }

    /// <summary>Adds one step to the current interval.</summary>
    public void Add(TrainStepResult r, double seconds)
    {
        if (_terms == null)
        {
            _terms = r.Terms.Keys.Where(k => k != "loss").ToArray();
            foreach (var t in _terms)
                if (t.Length == 0 || t.AsSpan().IndexOfAny(",\"\r\n") >= 0)
                    throw new InvalidOperationException($"metrics.csv: objective term name \"{t}\" cannot be a CSV column (empty, or holds a comma, quote or line break).");
            _sums = new double[_terms.Length];
            _writer.WriteLine(string.Join(",", [Head, .. _terms, Tail]));
            _writer.Flush();
        }
        int expected = _terms.Length + (r.Terms.ContainsKey("loss") ? 1 : 0);
        if (r.Terms.Count != expected || !_terms.All(r.Terms.ContainsKey))
            throw new InvalidOperationException($"metrics.csv ({_path}): step {r.Step} has terms [{string.Join(", ", r.Terms.Keys)}] but the columns are [{string.Join(", ", _terms)}]; an objective must report the same terms every step.");
        for (int i = 0; i < _terms.Length; i++) _sums[i] += r.Terms[_terms[i]];
        _lossSum += r.Loss;
        _normSum += r.GradNorm;
        _seconds += seconds;
        _images += r.BatchSize;
        _steps++;
    }

    /// <summary>Images per second over the steps of the current interval (0 before its first step).</summary>
    public double ImagesPerSecond => _seconds > 0 ? _images / _seconds : 0;

    /// <summary>Writes the current interval as one row and starts the next; nothing when it holds no step.</summary>
    public void WriteRow(long step, long imagesSeen, double lr)
    {
        if (_steps == 0) return;
        var ci = CultureInfo.InvariantCulture;
        var row = new StringBuilder();
        row.Append(step.ToString(ci)).Append(',').Append(imagesSeen.ToString(ci)).Append(',').Append((_lossSum / _steps).ToString("R", ci));
        for (int i = 0; i < _sums.Length; i++) row.Append(',').Append((_sums[i] / _steps).ToString("R", ci));
        row.Append(',').Append((_normSum / _steps).ToString("R", ci)).Append(',').Append(lr.ToString("R", ci))
           .Append(',').Append(ImagesPerSecond.ToString("F1", ci));
        _writer.WriteLine(row);
        _writer.Flush();
        Array.Clear(_sums);
        _lossSum = _normSum = _seconds = 0;
        _images = 0;
        _steps = 0;
    }

    public void Dispose() => _writer.Dispose();

    private static string[] ParseHeader(string path, string header)
    {
        var cols = header.Split(',');
        int n = cols.Length;
        if (n < 6 || string.Join(",", cols[..3]) != Head || string.Join(",", cols[^3..]) != Tail)
            throw new InvalidDataException($"metrics.csv ({path}): header \"{header}\" is not \"{Head},<terms>,{Tail}\"; move the file away to start a new one.");
        return cols[3..^3];
    }
}
