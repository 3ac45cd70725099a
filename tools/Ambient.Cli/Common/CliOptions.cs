using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using AmbientNative.Diffusion;
using AmbientNative.Nn;

namespace Ambient.Cli.Common;

/// <summary>Option builders shared by the commands, so one knob has one name, one default and one help text everywhere.</summary>
internal static class CliOptions
{
    public static Option<string?> Out() => new("--out", "-o")
    {
        Description = "Run folder for everything the command writes [default: runs/<command>-<timestamp>].",
        HelpName = "DIR",
    };

    /// <summary>The run folder: --out, or runs/&lt;command&gt;-&lt;timestamp&gt; under the current directory.</summary>
    public static string OutDir(ParseResult p, Option<string?> o, string command) =>
        p.GetValue(o) is { Length: > 0 } dir ? dir : Path.Combine("runs", $"{command}-{DateTime.Now:yyyyMMdd-HHmmss}");

    public static Option<string> Device() => new Option<string>("--device")
    {
        Description = "auto (CUDA when it works, else the CPU), cpu, or cuda / cuda:N.",
        DefaultValueFactory = _ => "auto",
        HelpName = "auto|cpu|cuda",
    }.Validated(v => v is "auto" or "cpu" or "cuda" || (v.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(v[5..], out int i) && i >= 0)
        ? null : $"--device {v}: expected auto, cpu, cuda or cuda:N.");

    public static Option<bool> Tf32() => new("--tf32")
    {
        Description = "CUDA only: convolutions on the TF32 tensor cores (inputs rounded to 10 mantissa bits, fp32 sums, ~1e-3 " +
                      "relative error; PyTorch's allow_tf32). Not yet timed on a GPU.",
    };

    public static Option<ulong> Seed(string what) => new("--seed")
    {
        Description = $"Seed for {what}; the same seed gives the same result.",
        DefaultValueFactory = _ => 0UL,
    };

    /// <summary>True when the user typed the option (not its default).</summary>
    public static bool Given(ParseResult p, Option o) => p.GetResult(o) is { Implicit: false };

    public static Option<int> PositiveInt(string name, string description, int defaultValue, string helpName = "N") =>
        new Option<int>(name) { Description = description, DefaultValueFactory = _ => defaultValue, HelpName = helpName }
            .Validated(v => v >= 1 ? null : $"{name} must be at least 1 (got {v}).");

    /// <summary>A count that may be written with a k/M/G suffix (10M = 10 000 000).</summary>
    public static Option<long?> Count(string name, string description, string helpName = "N") => new(name)
    {
        Description = description,
        HelpName = helpName,
        CustomParser = r => ParseCount(r, name),
    };

    public static Option<double> Amount(string name, string description, double defaultValue, string helpName = "N") => new(name)
    {
        Description = description,
        HelpName = helpName,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r => ParseCount(r, name) is { } v ? v : 0,
    };

    private static long? ParseCount(ArgumentResult r, string name)
    {
        if (r.Tokens.Count == 0) return null;
        string s = r.Tokens[0].Value.Trim();
        double scale = 1;
        if (s.Length > 0 && char.ToLowerInvariant(s[^1]) is 'k' or 'm' or 'g')
        {
            scale = char.ToLowerInvariant(s[^1]) switch { 'k' => 1e3, 'm' => 1e6, _ => 1e9 };
            s = s[..^1];
        }
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !(v * scale >= 0) || v * scale > long.MaxValue)
        {
            r.AddError($"{name} {r.Tokens[0].Value}: expected a non-negative count, e.g. 2000, 500k or 10M.");
            return null;
        }
        return (long)Math.Round(v * scale);
    }

    /// <summary>Adds a validator: <paramref name="check"/> returns an error message, or null when the value is fine.</summary>
    public static Option<T> Validated<T>(this Option<T> option, Func<T, string?> check)
    {
        option.Validators.Add(r =>
        {
            if (r.Errors.Any()) return;
            var v = r.GetValueOrDefault<T>();
            if (v is not null && check(v) is { } error) r.AddError(error);
        });
        return option;
    }

    public static Option<double> Fraction(string name, string description, double defaultValue, bool allowOne = false) =>
        new Option<double>(name) { Description = description, DefaultValueFactory = _ => defaultValue, HelpName = "X" }
            .Validated(v => v >= 0 && (allowOne ? v <= 1 : v < 1) ? null : $"{name} {v.ToString(CultureInfo.InvariantCulture)} must be in [0, {(allowOne ? "1]" : "1)")}.");

    /// <summary>--hidden-pixels: the ambient preconditioning at pixels the mask hides (<see cref="HiddenPixelPreconditioning"/>).</summary>
    public static Option<string> HiddenPixels(HiddenPixelPreconditioning defaultValue) => new Option<string>("--hidden-pixels")
    {
        Description = "Ambient: output scale and loss weight at pixels the mask hides: reference (c_out(σ) and λ(σ) as on every other pixel, " +
                      "as the official code) or infinite-noise (σ = ∞'s c_out = σd and λ = 1/σd², so the network's target there stays O(1) " +
                      "as σ → 0). Same optimum; stored in the checkpoint.",
        DefaultValueFactory = _ => HiddenPixelsName(defaultValue), HelpName = "reference|infinite-noise",
    }.Validated(v => ParseHiddenPixels(v) is null ? $"--hidden-pixels {v}: expected reference or infinite-noise." : null);

    public static HiddenPixelPreconditioning? ParseHiddenPixels(string v) => v switch
    {
        "reference" => HiddenPixelPreconditioning.Reference,
        "infinite-noise" => HiddenPixelPreconditioning.AsInfiniteNoise,
        _ => null,
    };

    public static string HiddenPixelsName(HiddenPixelPreconditioning v) =>
        v == HiddenPixelPreconditioning.AsInfiniteNoise ? "infinite-noise" : "reference";

    public static string PresetList => string.Join("|", UNetConfig.PresetNames);
}
