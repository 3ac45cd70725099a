using System.CommandLine;
using System.Globalization;
using AmbientNative.Nn;

namespace Ambient.Cli.Common;

/// <summary>
/// The training knobs (METHOD §1–3 with the papers' defaults), shared by <c>train</c> and <c>sweep</c>. Defaults
/// shown in --help are EDM's CIFAR-10 trainer (batch 512, lr 1e-3, 10M-image warm-up, 500k-image EMA half-life, no
/// clipping) and Ambient Diffusion's δ = 0.1; they are meant for GPU-scale runs, so short runs print a note when the
/// warm-up or EMA would swallow them.
/// </summary>
internal sealed class TrainOptionSet
{
    private static readonly TrainSettings D = new();

    public readonly Option<string> Method = new Option<string>("--method")
    { Description = "clean (EDM on clean data), ambient (erased pixels, METHOD §2) or tweedie (additive noise σn, METHOD §3).", DefaultValueFactory = _ => "ambient", HelpName = "clean|ambient|tweedie" }
        .Validated(v => v is "clean" or "ambient" or "tweedie" ? null : $"--method {v}: expected clean, ambient or tweedie.");
    public readonly Option<string> Corruption = new Option<string>("--corruption")
    { Description = "Ambient: which pixels are erased: pixel (each with probability p), box (a box of side ⌈p·H⌉), fixed_box (a box of side ⌊p·H⌋ fully inside).", DefaultValueFactory = _ => D.Corruption, HelpName = "pixel|box|fixed_box" }
        .Validated(v => v is "pixel" or "box" or "fixed_box" ? null : $"--corruption {v}: expected pixel, box or fixed_box.");
    public readonly Option<double> P = CliOptions.Fraction("--p", "Ambient: erasure level p (pixel erase probability, or box side / image side).", D.P);
    public readonly Option<double> Delta = CliOptions.Fraction("--delta", "Ambient: further corruption δ: Ã = B ⊙ A drops another fraction δ of the kept pixels (box kinds: a second box).", D.Delta);
    public readonly Option<bool> PerChannel = new("--per-channel") { Description = "Ambient, pixel: an independent mask per colour channel (default: one mask shared over channels, as in the paper)." };
    public readonly Option<double> SigmaN = new Option<double>("--sigma-n")
    { Description = "Tweedie: std σn of the data's Gaussian noise, in the [−1, 1] pixel scale.", DefaultValueFactory = _ => D.SigmaN, HelpName = "σ" }
        .Validated(v => v > 0 && double.IsFinite(v) ? null : $"--sigma-n {v.ToString(CultureInfo.InvariantCulture)} must be positive.");
    public readonly Option<string> Preset = new Option<string>("--preset")
    { Description = "U-Net size: tiny (16×16, 0.2 M parameters), reference (32×32, 7 M), edm-cifar (EDM's CIFAR-10 DDPM++, 56 M).", DefaultValueFactory = _ => D.Preset, HelpName = CliOptions.PresetList }
        .Validated(v => UNetConfig.PresetNames.Contains(v) ? null : $"--preset {v}: expected {string.Join(", ", UNetConfig.PresetNames)}.");
    public readonly Option<int?> Resolution = new Option<int?>("--resolution") { Description = "Image side the model works at; data is resized and centre-cropped to it [default: the preset's].", HelpName = "R" }
        .Validated(v => v is null or >= 4 ? null : $"--resolution {v} must be at least 4.");
    public readonly Option<int> Batch = CliOptions.PositiveInt("--batch", "Images per optimizer step.", D.Batch);
    public readonly Option<double> Lr = new Option<double>("--lr") { Description = "Adam learning rate (after warm-up).", DefaultValueFactory = _ => D.Lr, HelpName = "LR" }
        .Validated(v => v > 0 && double.IsFinite(v) ? null : $"--lr {v.ToString(CultureInfo.InvariantCulture)} must be positive.");
    public readonly Option<long?> Images = CliOptions.Count("--images", "Run length in images (EDM's unit; 200M for CIFAR-10). Give this or --steps.");
    public readonly Option<long?> Steps = CliOptions.Count("--steps", "Run length in optimizer steps. Give this or --images.");
    public readonly Option<double> Warmup = CliOptions.Amount("--warmup", "Linear learning-rate warm-up, in images (0 = none).", D.Warmup);
    public readonly Option<double> EmaHalfLife = CliOptions.Amount("--ema-halflife", "EMA half-life in images (EDM: 500k, with a 5 % ramp-up).", D.EmaHalfLife);
    public readonly Option<double> Clip = new Option<double>("--clip") { Description = "Clip the global gradient norm to this (0 = off, as EDM).", DefaultValueFactory = _ => 0, HelpName = "NORM" }
        .Validated(v => v >= 0 && double.IsFinite(v) ? null : $"--clip {v.ToString(CultureInfo.InvariantCulture)} must be ≥ 0.");
    public readonly Option<float?> Dropout = new Option<float?>("--dropout") { Description = "Dropout in each U-Net block [default: the preset's, 0.1; edm-cifar 0.13].", HelpName = "X" }
        .Validated(v => v is null or (>= 0 and < 1) ? null : $"--dropout {v} must be in [0, 1).");
    public readonly Option<bool> Gated = new("--gated") { Description = "Gated convolutions in every layer (the official Ambient code's inpainting layers)." };
    public readonly Option<string> HiddenPixels = CliOptions.HiddenPixels(D.HiddenPixels);
    public readonly Option<bool> Flip = new("--flip") { Description = "Mirror training images left–right at random (image and masks together)." };
    public readonly Option<int> CheckpointEvery = new Option<int>("--checkpoint-every") { Description = "A checkpoint every N steps (0 = only at the end); the newest 3 are kept.", DefaultValueFactory = _ => D.CheckpointEvery, HelpName = "N" }
        .Validated(v => v >= 0 ? null : $"--checkpoint-every {v} must be ≥ 0.");
    public readonly Option<ulong> Seed = CliOptions.Seed("the weights, the corruption masks, the batch order and the noise");
    public readonly Option<string> Data = new("--data")
    { Description = "Training images: an image folder (PNG/JPEG), IDX[.gz] (MNIST, Fashion-MNIST), a CIFAR-10 folder or .bin, a .npy file, or builtin:shapes[:N].", DefaultValueFactory = _ => D.Data, HelpName = "PATH|builtin:shapes[:N]" };
    public readonly Option<int?> Limit = new Option<int?>("--limit") { Description = "Train on a fixed, seeded subset of this many images (memorization experiments use a few hundred to 3000).", HelpName = "N" }
        .Validated(v => v is null or >= 1 ? null : $"--limit {v} must be at least 1.");
    public readonly Option<int?> Channels = new Option<int?>("--channels") { Description = "1 (grey) or 3 (RGB) [default: the data's].", HelpName = "1|3" }
        .Validated(v => v is null or 1 or 3 ? null : $"--channels {v}: expected 1 or 3.");
    public readonly Option<bool> SkipBad = new("--skip-bad") { Description = "Image folders: skip unreadable files (counted at the end) instead of stopping." };
    public readonly Option<string> Device = CliOptions.Device();
    public readonly Option<bool> Tf32 = CliOptions.Tf32();
    public readonly Option<int> SampleCount = new Option<int>("--sample-count") { Description = "Samples drawn at the end of the run into samples.png / samples.npy (0 = none).", DefaultValueFactory = _ => D.SampleCount, HelpName = "N" }
        .Validated(v => v >= 0 ? null : $"--sample-count {v} must be ≥ 0.");
    public readonly Option<int> SampleSteps = new Option<int>("--sample-steps") { Description = "Heun steps N of the end-of-run sampler (EDM: 18 at 32 px, 40 at 64 px).", DefaultValueFactory = _ => D.SampleSteps, HelpName = "N" }
        .Validated(v => v >= 2 ? null : $"--sample-steps {v} must be at least 2.");

    /// <summary>The options a sweep replaces with its own (it trains ambient models at each level).</summary>
    private IEnumerable<Option> MethodOptions => [Method, P];

    public void AddTo(Command command, bool forSweep = false)
    {
        foreach (var o in All())
            if (!forSweep || !MethodOptions.Contains(o)) command.Add(o);
    }

    private IEnumerable<Option> All() =>
    [
        Data, Limit, Channels, SkipBad, Method, Corruption, P, Delta, PerChannel, SigmaN, Preset, Resolution, Batch, Lr,
        Images, Steps, Warmup, EmaHalfLife, Clip, Dropout, Gated, HiddenPixels, Flip, CheckpointEvery, Seed, Device, Tf32, SampleCount, SampleSteps,
    ];

    /// <summary>The options given explicitly, other than those in <paramref name="except"/>.</summary>
    public IEnumerable<string> GivenExcept(ParseResult p, params Option[] except) =>
        All().Where(o => !except.Contains(o) && CliOptions.Given(p, o)).Select(o => o.Name);

    public TrainSettings Read(ParseResult p)
    {
        var method = p.GetValue(Method) switch { "clean" => Common.Method.Clean, "tweedie" => Common.Method.Tweedie, _ => Common.Method.Ambient };
        // Knobs of one method given to another are almost always a mistake (e.g. --p with --method clean): say so.
        if (method != Common.Method.Ambient)
            foreach (var o in new Option[] { Corruption, P, Delta, PerChannel, HiddenPixels })
                if (CliOptions.Given(p, o)) throw new UsageException($"{o.Name} applies to --method ambient, not {p.GetValue(Method)}.");
        if (method != Common.Method.Tweedie && CliOptions.Given(p, SigmaN))
            throw new UsageException($"--sigma-n applies to --method tweedie, not {p.GetValue(Method)}.");
        if (p.GetValue(PerChannel) && p.GetValue(Corruption) != "pixel")
            throw new UsageException("--per-channel applies to --corruption pixel only.");
        long? images = p.GetValue(Images), steps = p.GetValue(Steps);
        if (images.HasValue && steps.HasValue) throw new UsageException("give the run length with --images or --steps, not both.");
        if (images is 0 || steps is 0) throw new UsageException("the run length (--images / --steps) must be at least 1.");
        return new TrainSettings
        {
            Method = method,
            Corruption = p.GetValue(Corruption)!,
            P = p.GetValue(P),
            Delta = p.GetValue(Delta),
            PerChannel = p.GetValue(PerChannel),
            SigmaN = p.GetValue(SigmaN),
            Preset = p.GetValue(Preset)!,
            Resolution = p.GetValue(Resolution),
            Batch = p.GetValue(Batch),
            Lr = p.GetValue(Lr),
            Images = images,
            Steps = steps,
            Warmup = p.GetValue(Warmup),
            EmaHalfLife = p.GetValue(EmaHalfLife),
            Clip = p.GetValue(Clip),
            Dropout = p.GetValue(Dropout),
            Gated = p.GetValue(Gated),
            HiddenPixels = CliOptions.ParseHiddenPixels(p.GetValue(HiddenPixels)!)!.Value,
            Flip = p.GetValue(Flip),
            CheckpointEvery = p.GetValue(CheckpointEvery),
            Seed = p.GetValue(Seed),
            Data = p.GetValue(Data)!,
            Limit = p.GetValue(Limit),
            Channels = p.GetValue(Channels),
            SkipBad = p.GetValue(SkipBad),
            Device = p.GetValue(Device)!,
            SampleCount = p.GetValue(SampleCount),
            SampleSteps = p.GetValue(SampleSteps),
        };
    }

    /// <summary>Requires a run length (a new run has no sensible default: EDM's is 200M images).</summary>
    public static void RequireLength(TrainSettings s, string command)
    {
        if (s.Images is null && s.Steps is null)
            throw new UsageException($"{command}: give the run length with --steps N or --images N (e.g. --steps 2000; EDM trains CIFAR-10 for --images 200M).");
    }
}
