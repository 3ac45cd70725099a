using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/AmbientNative.Benchmarks -- --filter '*Conv*'
// dotnet run -c Release --project benchmarks/AmbientNative.Benchmarks -- profile [steps]   (per-op times of a training step)
if (args.Length > 0 && args[0] == "profile")
    AmbientNative.Benchmarks.StepProfile.Run(args.Length > 1 ? int.Parse(args[1]) : 6);
else
    BenchmarkSwitcher.FromAssembly(typeof(AmbientNative.Benchmarks.ConvBenchmarks).Assembly).Run(args);
