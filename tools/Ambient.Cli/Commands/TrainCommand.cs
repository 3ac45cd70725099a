using System.CommandLine;
using Ambient.Cli.Common;
using Spectre.Console;

namespace Ambient.Cli.Commands;

/// <summary><c>ambient train</c>: one training run (clean, ambient or tweedie) into a run folder, or the continuation of one.</summary>
internal static class TrainCommand
{
    public static Command Create(CliContext cli)
    {
        var knobs = new TrainOptionSet();
        var resume = new Option<string?>("--resume") { Description = "Continue the run in this folder from its newest checkpoint, with its own settings (a longer --steps/--images may be given).", HelpName = "DIR" };
        var output = CliOptions.Out();
        var cmd = Help.Command("train", """
            Train a diffusion model on clean, pixel-erased (ambient) or noisy (tweedie) data.

            Train a diffusion model on clean, pixel-erased (Ambient Diffusion) or noisy (Ambient Tweedie) data.
            The run folder gets config.json, metrics.csv, checkpoint-<step>.safetensors, training_data.png (the data as
            the model sees it: erased pixels grey) and, at the end, samples.png / samples.npy from the EMA weights.

            Examples:
              ambient train --data builtin:shapes:300 --preset tiny --method ambient --p 0.6 --steps 2000 --batch 32 --warmup 0 --ema-halflife 5k
              ambient train --data /usr/share/datasets/fashion-mnist --limit 3000 --resolution 32 --method clean --images 2M --out runs/fm-clean
              ambient train --data faces/ --method tweedie --sigma-n 0.2 --steps 20k --device cuda
              ambient train --resume runs/fm-clean --images 4M
            """);
        knobs.AddTo(cmd);
        cmd.Add(resume);
        cmd.Add(output);
        cmd.SetAction(p =>
        {
            var device = Devices.Resolve(cli, p.GetValue(knobs.Device)!);
            Devices.UseTf32(cli, device, p.GetValue(knobs.Tf32));
            TrainOutcome outcome;
            if (p.GetValue(resume) is { } dir)
            {
                var extra = knobs.GivenExcept(p, knobs.Steps, knobs.Images, knobs.Device, knobs.Tf32, knobs.SampleCount, knobs.SampleSteps).ToList();
                if (CliOptions.Given(p, output)) extra.Add(output.Name);
                if (extra.Count > 0)
                    throw new UsageException($"--resume continues with the run's own settings; {string.Join(", ", extra)} cannot change (only --steps/--images, --device, --tf32, --sample-count, --sample-steps).");
                long? steps = p.GetValue(knobs.Steps), images = p.GetValue(knobs.Images);
                if (steps.HasValue && images.HasValue) throw new UsageException("give the run length with --images or --steps, not both.");
                outcome = TrainingRun.Resume(cli, dir, steps, images, device, p.GetValue(knobs.SampleCount), p.GetValue(knobs.SampleSteps));
            }
            else
            {
                var s = knobs.Read(p);
                TrainOptionSet.RequireLength(s, "train");
                outcome = TrainingRun.Start(cli, s, CliOptions.OutDir(p, output, "train"), device);
            }
            cli.Console.Write(TrainingRun.Summary(outcome));
            cli.Console.MarkupLine($"run folder: [bold]{Markup.Escape(outcome.RunDirectory)}[/] (config.json, metrics.csv, {Grids.TrainingData}" +
                                   (outcome.SamplesNpy != null ? $", {Grids.Samples}, samples.npy)" : ")"));
            return 0;
        });
        return cmd;
    }
}
