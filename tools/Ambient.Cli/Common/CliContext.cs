using Spectre.Console;

namespace Ambient.Cli.Common;

/// <summary>
/// What every command writes to and listens to: the console (the real one, or a recording one in tests) and the
/// cancellation of Ctrl+C (a training run then stops after its current step and writes a checkpoint).
/// </summary>
internal sealed class CliContext(IAnsiConsole console, CancellationToken cancellation)
{
    public IAnsiConsole Console { get; } = console;
    public CancellationToken Cancellation { get; } = cancellation;

    /// <summary>Prints a dim line (paths, notes).</summary>
    public void Note(string text) => Console.MarkupLine($"[grey]{Markup.Escape(text)}[/]");

    /// <summary>Prints a warning that does not stop the command.</summary>
    public void Warn(string text) => Console.MarkupLine($"[yellow]note:[/] {Markup.Escape(text)}");
}
