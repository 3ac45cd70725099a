using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/AmbientNative.Benchmarks -- --filter '*Conv*'
BenchmarkSwitcher.FromAssembly(typeof(AmbientNative.Benchmarks.ConvBenchmarks).Assembly).Run(args);
