using AmbientNative.Nn;
using AmbientNative.Tensors;
using AmbientNative.Training;

namespace Ambient.Cli.Common;

/// <summary>A trained model loaded from a checkpoint, with the run config that built it.</summary>
internal sealed class ModelFile : IDisposable
{
    private ModelFile(string path, RunConfig config, UNet model, long step)
    {
        Path = path; Config = config; Model = model; Step = step;
    }

    public string Path { get; }
    public RunConfig Config { get; }
    public UNet Model { get; }
    public long Step { get; }

    /// <summary>The checkpoint itself, or the newest checkpoint of a run folder.</summary>
    public static string Find(string pathOrRunFolder)
    {
        if (Directory.Exists(pathOrRunFolder))
            return Checkpoint.FindLatest(pathOrRunFolder)
                ?? throw new FileNotFoundException($"'{pathOrRunFolder}' holds no checkpoint-<step>.safetensors (is it a train run folder?).");
        if (!File.Exists(pathOrRunFolder)) throw new FileNotFoundException($"Checkpoint '{pathOrRunFolder}' does not exist.");
        return pathOrRunFolder;
    }

    /// <summary>Loads the raw weights, or the EMA weights (the ones to sample with) when <paramref name="ema"/> is set.</summary>
    public static ModelFile Load(string pathOrRunFolder, Device device, bool ema)
    {
        string path = Find(pathOrRunFolder);
        var (_, info) = Checkpoint.Read(path);
        var config = RunConfig.FromJson(info.ModelConfig, path);
        var model = config.BuildModel(device, seed: 0);
        try { Checkpoint.LoadWeights(path, model, ema); }
        catch { model.Dispose(); throw; }
        return new ModelFile(path, config, model, info.Step);
    }

    public void Dispose() => Model.Dispose();
}
