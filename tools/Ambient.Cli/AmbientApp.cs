using System.CommandLine;
using Ambient.Cli.Commands;
using Ambient.Cli.Common;
using AmbientNative.Data;
using AmbientNative.Training;
using Spectre.Console;

namespace Ambient.Cli;

/// <summary>
/// The <c>ambient</c> command: builds the command tree and turns every failure into one line and an exit code
/// (0 ok, 1 the run failed, 2 the command line is wrong, 130 interrupted). Tests call <see cref="Run"/> in-process
/// with a recording console.
/// </summary>
internal static class AmbientApp
{
    public const int Ok = 0, Failed = 1, Usage = 2, Interrupted = 130;

    /// <param name="errors">Where the one-line errors go (stderr in the real program); null = <paramref name="console"/>.</param>
    public static int Run(string[] args, IAnsiConsole console, CancellationToken cancellation = default, IAnsiConsole? errors = null)
    {
        var err = errors ?? console;
        var cli = new CliContext(console, cancellation);
        var verbose = new Option<bool>("--verbose") { Description = "On an error, print the stack trace too.", Recursive = true };
        var root = new RootCommand("""
            ambient: train diffusion models on corrupted data (Ambient Diffusion) and measure what they memorize.

            Start with:
              ambient demo        trains a clean and an ambient model on built-in shapes and compares what they copy
            """)
        {
            TrainCommand.Create(cli), SampleCommand.Create(cli), MemorizationCommand.Create(cli), ProbeCommand.Create(cli),
            SweepCommand.Create(cli), BenchCommand.Create(cli), DevicesCommand.Create(cli), DemoCommand.Create(cli),
        };
        root.Add(verbose);
        Help.Install(root);

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 && !Help.Requested(parse))
        {
            // One line: the first error and where to look, rather than the full help text.
            string command = string.Join(' ', CommandPath(parse.CommandResult.Command));
            Error(err, $"{parse.Errors[0].Message.TrimEnd('.')} (see '{command} --help')");
            return Usage;
        }
        try
        {
            int code = parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, Output = console.Profile.Out.Writer, Error = console.Profile.Out.Writer });
            return code;
        }
        catch (Exception e) when (Unwrap(e) is var inner)
        {
            bool showStack = parse.GetValue(verbose);
            switch (inner)
            {
                case UsageException:
                    Error(err, inner.Message);
                    return Usage;
                case OperationCanceledException:
                    Error(err, "interrupted.");
                    return Interrupted;
                case var _ when Devices.IsUnavailable(inner):
                    Error(err, $"CUDA is not available: {inner.Message}");
                    break;
                case DatasetException or ArgumentException or InvalidDataException or TrainingDivergedException
                    or IOException or InvalidOperationException or UnauthorizedAccessException or NotSupportedException:
                    Error(err, inner.Message);
                    break;
                default:
                    Error(err, $"{inner.GetType().Name}: {inner.Message}" + (showStack ? "" : " (run with --verbose for the stack trace)"));
                    break;
            }
            if (showStack) err.WriteLine(inner.ToString(), new Style(Color.Grey));
            return Failed;
        }
    }

    private static Exception Unwrap(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } or System.Reflection.TargetInvocationException && e.InnerException != null)
            e = e.InnerException!;
        return e;
    }

    private static void Error(IAnsiConsole console, string message) =>
        console.MarkupLine($"[red]error:[/] {Markup.Escape(message.ReplaceLineEndings(" "))}");

    private static IEnumerable<string> CommandPath(Command c)
    {
        var names = new Stack<string>();
        for (Symbol? s = c; s != null; s = s.Parents.FirstOrDefault())
            names.Push(s is RootCommand ? "ambient" : s.Name);
        return names;
    }
}
