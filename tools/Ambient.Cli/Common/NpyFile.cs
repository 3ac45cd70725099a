using System.Text;
using AmbientNative.Data;
using AmbientNative.Tensors;

namespace Ambient.Cli.Common;

/// <summary>Samples as NumPy float32 [N, C, H, W] in [−1, 1]: <c>np.load("samples.npy")</c> reads them.</summary>
internal static class NpyFile
{
    public static void Write(string path, Tensor images)
    {
        var dims = images.Shape.Dims.ToArray();
        string shape = dims.Length == 1 ? $"({dims[0]},)" : $"({string.Join(", ", dims)})";
        string dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}";
        // Version 1.0: the magic, the version, a 16-bit header length, then the dict padded with spaces and ended by
        // '\n' so that the data starts on a 64-byte boundary.
        int unpadded = 10 + dict.Length + 1;
        string header = dict + new string(' ', (64 - unpadded % 64) % 64) + "\n";
        using var f = File.Create(path);
        f.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        f.Write(BitConverter.GetBytes((ushort)header.Length)); // little-endian on every platform .NET runs on here
        f.Write(Encoding.ASCII.GetBytes(header));
        var data = images.ToArray();
        f.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
    }

    /// <summary>Reads samples written by <see cref="Write"/> (or any float32/uint8 image .npy) as [N, C, H, W] in [−1, 1].</summary>
    public static Tensor Read(string path)
    {
        var ds = NpyFormat.Load(path, NpyLayout.Auto, NpyValueRange.Auto);
        return ds.ToTensor();
    }
}
