// Build script: `dotnet tool restore && dotnet cake [--target=Build|Test|Bench|GpuBundle|Pack]`.
var target = Argument("target", "Test");
var configuration = Argument("configuration", "Release");
var benchFilter = Argument("filter", "*");

Task("Build").Does(() =>
    DotNetBuild("AmbientNative.sln", new DotNetBuildSettings { Configuration = configuration }));

// The same command as the README's and .ci/run's, so all three agree.
Task("Test").IsDependentOn("Build").Does(() =>
    DotNetTest("AmbientNative.sln", new DotNetTestSettings { Configuration = configuration, NoBuild = true }));

// CPU benchmarks (BenchmarkDotNet), then the PyTorch CPU anchors in the same run (python3-torch installed if missing).
Task("Bench").Does(() =>
{
    DotNetRun("benchmarks/AmbientNative.Benchmarks/AmbientNative.Benchmarks.csproj",
        new ProcessArgumentBuilder().Append("--filter").AppendQuoted(benchFilter),
        new DotNetRunSettings { Configuration = "Release" });
    if (FileExists("/usr/bin/python3"))
    {
        // The anchors need PyTorch: Debian's python3-torch, installed here (never by hand) when it is missing.
        if (StartProcess("/usr/bin/python3", "-c \"import torch\"") != 0)
        {
            Information("PyTorch is missing: installing Debian's python3-torch with apt-get (needs root) for the anchors.");
            var apt = StartProcess("bash", new ProcessSettings { Arguments =
                "-c \"apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch\"" });
            if (apt != 0) Warning($"apt-get install python3-torch exited {apt}; the PyTorch anchors will fail");
        }
        foreach (var script in GetFiles("benchmarks/anchors/*_cpu.py"))
        {
            var code = StartProcess("/usr/bin/python3", script.FullPath);
            if (code != 0) Warning($"{script.GetFilename()} exited {code} (is python3-torch installed? apt-get install python3-torch)");
        }
    }
});

// Self-contained test bundle for GPU hosts without the .NET SDK (see tools/gpu-test.sh).
Task("GpuBundle").Does(() =>
{
    var code = StartProcess("bash", new ProcessSettings { Arguments = "tools/gpu-test.sh bundle" });
    if (code != 0) throw new Exception($"tools/gpu-test.sh bundle exited {code}");
});

Task("Pack").Does(() =>
    DotNetPack("src/AmbientNative/AmbientNative.csproj", new DotNetPackSettings
    {
        Configuration = configuration,
        OutputDirectory = "artifacts/packages",
    }));

RunTarget(target);
