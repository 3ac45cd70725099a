using System.CommandLine;
using Ambient.Cli.Common;

namespace Ambient.Cli.Commands;

internal static class ProbeCommand
{
    public static Command Create(CliContext cli)
    {
        var cmd = new Command("probe", "(not yet)");
        cmd.SetAction(_ => { cli.Warn("not yet"); return 1; });
        return cmd;
    }
}
