using System.CommandLine;
using Ambient.Cli;

var root = new RootCommand("ambient: train and sample diffusion models on corrupted data (Ambient Diffusion).");
root.Subcommands.Add(DevicesCommand.Create());
root.Subcommands.Add(DemoCommand.Create());
return root.Parse(args).Invoke();
