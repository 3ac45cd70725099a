using Ambient.Cli;
using Spectre.Console;

// Ctrl+C once: cancel (a training run finishes its step and writes a checkpoint); twice: the default, immediate exit.
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (cancel.IsCancellationRequested) return;
    e.Cancel = true;
    cancel.Cancel();
};
var stderr = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
return AmbientApp.Run(args, AnsiConsole.Console, cancel.Token, stderr);
