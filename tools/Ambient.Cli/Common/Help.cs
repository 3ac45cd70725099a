using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Runtime.CompilerServices;

namespace Ambient.Cli.Common;

/// <summary>
/// Commands described by one text: its first paragraph is the one-line summary listed under `ambient --help`; the rest
/// (details and examples) is printed after the options in the command's own --help.
/// </summary>
internal static class Help
{
    private static readonly ConditionalWeakTable<Command, string> Details = [];

    public static Command Command(string name, string text)
    {
        var paragraphs = text.ReplaceLineEndings("\n").Split("\n\n", 2);
        var cmd = new Command(name, paragraphs[0].Replace('\n', ' '));
        if (paragraphs.Length > 1) Details.Add(cmd, paragraphs[1].TrimEnd());
        return cmd;
    }

    /// <summary>Wraps the root's help action so that each command's details follow its generated help.</summary>
    public static void Install(RootCommand root)
    {
        var option = root.Options.OfType<HelpOption>().Single();
        if (option.Action is HelpAction inner) option.Action = new WithDetails(inner);
    }

    /// <summary>--help was asked for: show it even when the rest of the line has errors (e.g. a required option missing).</summary>
    public static bool Requested(ParseResult p) => p.Action is WithDetails or HelpAction;

    private sealed class WithDetails(HelpAction inner) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            int code = inner.Invoke(parseResult);
            if (Details.TryGetValue(parseResult.CommandResult.Command, out var details))
            {
                var output = parseResult.InvocationConfiguration.Output;
                foreach (var line in details.Split('\n')) output.WriteLine(line.Length > 0 ? "  " + line : "");
                output.WriteLine();
            }
            return code;
        }
    }
}

internal static class CommandExtensions
{
    public static Command With(this Command command, params Option[] options)
    {
        foreach (var o in options) command.Add(o);
        return command;
    }
}
