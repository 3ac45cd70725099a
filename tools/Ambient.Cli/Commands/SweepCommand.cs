using System.CommandLine;
using Ambient.Cli.Common;

namespace Ambient.Cli.Commands;

internal static class SweepCommand
{
    public static Command Create(CliContext cli)
    {
        var cmd = new Command("sweep", "(not yet)");
        cmd.SetAction(_ => { cli.Warn("not yet"); return 1; });
        return cmd;
    }
}
