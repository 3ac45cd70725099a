using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/AmbientNative.Benchmarks -- --filter '*Conv*'
// dotnet run -c Release --project benchmarks/AmbientNative.Benchmarks -- profile [steps] [preset] [batch]
//   (per-op times of a training step; default: 6 steps of the reference preset at batch 16)
if (args.Length > 0 && args[0] == "profile")
    AmbientNative.Benchmarks.StepProfile.Run(args.Length > 1 ? int.Parse(args[1]) : 6,
        args.Length > 2 ? AmbientNative.Nn.UNetConfig.Preset(args[2]) : AmbientNative.Benchmarks.TrainingStepBenchmarks.Config,
        args.Length > 3 ? int.Parse(args[3]) : AmbientNative.Benchmarks.TrainingStepBenchmarks.Batch);
else
    BenchmarkSwitcher.FromAssembly(typeof(AmbientNative.Benchmarks.ConvBenchmarks).Assembly).Run(args);
