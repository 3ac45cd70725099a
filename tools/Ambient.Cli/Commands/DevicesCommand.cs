using System.CommandLine;
using Ambient.Cli.Common;
using Spectre.Console;

namespace Ambient.Cli.Commands;

/// <summary><c>ambient devices</c>: the compute devices found, and why CUDA is not among them when it is not.</summary>
internal static class DevicesCommand
{
    public static Command Create(CliContext cli)
    {
        var cmd = Help.Command("devices", """
            List the compute devices this machine offers (what --device auto picks comes first).

            Example:
              ambient devices
            """);
        cmd.SetAction(_ =>
        {
            var t = new Table().Border(TableBorder.Rounded).AddColumn("--device").AddColumn("device").AddColumn("note");
            foreach (var (id, name, note) in Devices.List()) t.AddRow(Markup.Escape(id), Markup.Escape(name), Markup.Escape(note));
            cli.Console.Write(t);
            return 0;
        });
        return cmd;
    }
}
