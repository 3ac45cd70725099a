using System.IO.Compression;

namespace AmbientNative.Data;

/// <summary>Reading whole dataset files, with every I/O or decompression failure turned into a <see cref="DatasetException"/>.</summary>
internal static class DataFile
{
    /// <summary>The file's bytes, gunzipped when the file starts with the gzip magic (1F 8B), whatever its name.</summary>
    public static byte[] ReadAll(string path)
    {
        byte[] raw;
        try { raw = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetException(path, $"cannot be read ({e.Message})", e);
        }
        if (raw.Length < 2 || raw[0] != 0x1F || raw[1] != 0x8B) return raw;
        try
        {
            using var gz = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
            using var outStream = new MemoryStream(raw.Length * 4);
            gz.CopyTo(outStream);
            return outStream.ToArray();
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw new DatasetException(path, $"is a corrupt or truncated gzip file ({e.Message})", e);
        }
    }

    public static int BigEndianInt32(byte[] b, int offset) =>
        (b[offset] << 24) | (b[offset + 1] << 16) | (b[offset + 2] << 8) | b[offset + 3];
}
