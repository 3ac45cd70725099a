using System.IO.Compression;
using System.Text;
using AmbientNative.Data;

namespace AmbientNative.Tests.Data;

/// <summary>A fresh temporary folder per test, deleted afterwards.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ambient-test-" + Guid.NewGuid().ToString("N")[..12]);
    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    public string Write(string relative, byte[] bytes)
    {
        var p = this[relative];
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(p)!);
        File.WriteAllBytes(p, bytes);
        return p;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Dataset files built byte by byte, the way the formats' own writers lay them out.</summary>
public static class DataFiles
{
    public static byte[] RandomBytes(int n, int salt = 0)
    {
        var rng = Testing.Rand.ForTest(salt);
        var b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte)rng.NextInt(256);
        return b;
    }

    /// <summary>IDX: 00 00, type, rank, big-endian int32 dims, data.</summary>
    public static byte[] Idx(int[] dims, byte[] data, byte type = 0x08)
    {
        var b = new List<byte> { 0, 0, type, (byte)dims.Length };
        foreach (int d in dims) b.AddRange([(byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d]);
        b.AddRange(data);
        return b.ToArray();
    }

    public static byte[] Gzip(byte[] data)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    /// <summary>NPY version 1.0 as numpy.save writes it: header padded with spaces and ending in '\n' so data starts on a 64-byte boundary.</summary>
    public static byte[] Npy(string descr, int[] shape, byte[] data, bool fortran = false, int version = 1)
    {
        string shapeText = shape.Length == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";
        string dict = $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': {shapeText}, }}";
        int prefix = 6 + 2 + (version == 1 ? 2 : 4);
        int total = (prefix + dict.Length + 1 + 63) / 64 * 64;
        string header = dict.PadRight(total - prefix - 1) + "\n";
        var b = new List<byte> { 0x93 };
        b.AddRange("NUMPY"u8.ToArray());
        b.Add((byte)version); b.Add(0);
        if (version == 1) b.AddRange(BitConverter.GetBytes((ushort)header.Length));
        else b.AddRange(BitConverter.GetBytes((uint)header.Length));
        b.AddRange(Encoding.Latin1.GetBytes(header));
        b.AddRange(data);
        return b.ToArray();
    }

    public static byte[] Floats(float[] v)
    {
        var b = new byte[v.Length * 4];
        Buffer.BlockCopy(v, 0, b, 0, b.Length);   // little-endian on every machine .NET runs on here
        return b;
    }

    /// <summary>Asserts the loader throws a <see cref="DatasetException"/> naming <paramref name="path"/> and saying <paramref name="phrase"/>.</summary>
    public static DatasetException Throws(TestDelegate load, string path, string phrase)
    {
        var e = Assert.Throws<DatasetException>(load)!;
        Assert.That(e.Message, Does.Contain(path), "the message names the file");
        Assert.That(e.Message, Does.Contain(phrase).IgnoreCase, "the message says what is wrong");
        return e;
    }
}
