using AmbientNative.Diffusion.Corruption;
using AmbientNative.Imaging;
using AmbientNative.Tensors;

namespace Ambient.Cli.Common;

/// <summary>The run folders' image grids.</summary>
internal static class Grids
{
    public const string TrainingData = "training_data.png", Samples = "samples.png";

    /// <summary>Magnification so that small images stay visible: cells of about 64 pixels.</summary>
    public static int Scale(int resolution) => Math.Max(1, 64 / resolution);

    /// <summary>
    /// The first images of the training set as the model sees them: erased pixels grey (A ⊙ x0 with A = 0 shown as
    /// mid-grey), noisy images as they are, clean images for the clean method.
    /// </summary>
    public static void SaveTrainingData(string path, CorruptedDataset data, int count = 64)
    {
        int n = Math.Min(count, data.Count), size = data.ImageSize;
        var y = new float[n * size];
        var a = new float[n * size];
        var aTilde = new float[n * size];
        data.CopyBatch(Enumerable.Range(0, n).ToArray(), y, a, aTilde);
        var shown = data.Spec.ErasesPixels ? ImageGrid.ShowErased(y, a, n, data.Channels, data.Height, data.Width) : y;
        for (int i = 0; i < shown.Length; i++) shown[i] = Math.Clamp(shown[i], -1f, 1f); // noisy data leaves the range
        ImageGrid.Save(path, shown, n, data.Channels, data.Height, data.Width, Columns(n), scale: Scale(data.Height));
    }

    public static void SaveSamples(string path, Tensor samples)
    {
        var (n, _, h, _) = samples.Shape.Nchw("samples");
        ImageGrid.Save(path, samples, Columns(n), scale: Scale(h));
    }

    /// <summary>A near-square grid: 8 columns for 64 images, 6 for 36.</summary>
    public static int Columns(int n) => Math.Max(1, Math.Min(n, (int)Math.Ceiling(Math.Sqrt(n))));
}
