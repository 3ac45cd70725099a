using System.CommandLine;
using Ambient.Cli.Common;

namespace Ambient.Cli.Commands;

internal static class MemorizationCommand
{
    public static Command Create(CliContext cli)
    {
        var cmd = new Command("memorization", "(not yet)");
        cmd.SetAction(_ => { cli.Warn("not yet"); return 1; });
        return cmd;
    }
}
