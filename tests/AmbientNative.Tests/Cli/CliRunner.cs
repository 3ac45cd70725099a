using Ambient.Cli;
using Spectre.Console;

namespace AmbientNative.Tests.Cli;

/// <summary>Runs `ambient` in-process with a plain, non-interactive recording console (as in a CI log).</summary>
public static class CliRunner
{
    public sealed record Result(int ExitCode, string Output, string Errors)
    {
        public string[] ErrorLines => Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        public override string ToString() => $"exit {ExitCode}\n--- output\n{Output}\n--- errors\n{Errors}";
    }

    public static Result Run(params string[] args)
    {
        var output = new StringWriter();
        var errors = new StringWriter();
        int code = AmbientApp.Run(args, Console(output), errors: Console(errors));
        return new Result(code, output.ToString(), errors.ToString());
    }

    private static IAnsiConsole Console(TextWriter writer)
    {
        var c = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        c.Profile.Width = 200; // one line per error, however long
        return c;
    }

    /// <summary>Asserts the run succeeded, showing everything it printed when it did not.</summary>
    public static Result Ok(params string[] args)
    {
        var r = Run(args);
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        return r;
    }
}
