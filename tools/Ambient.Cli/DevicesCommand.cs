using System.CommandLine;
using AmbientNative.Tensors;

namespace Ambient.Cli;

/// <summary>`ambient devices`: lists the compute devices this machine offers.</summary>
internal static class DevicesCommand
{
    public static Command Create()
    {
        var cmd = new Command("devices", "List the compute devices found on this machine.");
        cmd.SetAction(_ =>
        {
            Console.WriteLine($"cpu      {Device.Cpu.Name}");
            Console.WriteLine($"cpu-ref  {Device.CpuReference.Name} (plain loops; the specification the tests compare against)");
            return 0;
        });
        return cmd;
    }
}
