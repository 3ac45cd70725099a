using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace AmbientNative.Training;

/// <summary>A named float tensor as stored in a safetensors file: row-major data and its shape ([] for a scalar).</summary>
public sealed record SafetensorsTensor(string Name, float[] Data, int[] Shape);

/// <summary>The contents of a safetensors file: its tensors by name, and the string metadata of "__metadata__".</summary>
public sealed record SafetensorsFile(IReadOnlyDictionary<string, SafetensorsTensor> Tensors, IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N, N bytes of JSON
/// <c>{"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}, …}</c> padded with spaces to
/// a multiple of 8, then the tensors' raw little-endian bytes, back to back, offsets relative to the end of the header.
/// </summary>
/// <remarks>
/// The writer produces what the reference serializer does for F32 tensors (compact JSON, metadata first, tensors in
/// ordinal name order, space padding, non-ASCII unescaped), byte for byte except for the order of metadata keys, which
/// the reference leaves to a hash map; safetensors 0.8.0 in Python loads these files unchanged. The reader accepts any key
/// order and checks what the reference reader checks: contiguous offsets starting at 0 that cover the data exactly,
/// and byte sizes that match shape × dtype. Names are free-form; following PyTorch's conventions is the caller's job.
/// </remarks>
public static class Safetensors
{
    /// <summary>The reference reader's limit on the JSON header.</summary>
    public const int MaxHeaderBytes = 100_000_000;

    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes F32 tensors and optional metadata to <paramref name="path"/> atomically: a temporary file in the same folder, flushed, then renamed over it.</summary>
    public static void Write(string path, IEnumerable<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var sorted = tensors.ToArray();
        foreach (var t in sorted) CheckTensor(path, t);
        Array.Sort(sorted, (x, y) => string.CompareOrdinal(x.Name, y.Name));
        var header = Header(path, sorted, metadata);

        string full = Path.GetFullPath(path);
        string temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                Span<byte> length = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
                stream.Write(length);
                stream.Write(header);
                foreach (var t in sorted) WriteLittleEndian(stream, t.Data);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true); // rename(2): readers see the old file or the new one, never half of one
        }
        catch
        {
            if (File.Exists(temp)) File.Delete(temp);
            throw;
        }
    }

    /// <summary>Reads every tensor as float (F32, and F64, F16, BF16 converted) and the metadata; throws <see cref="InvalidDataException"/> naming the file and tensor for any malformed content.</summary>
    public static SafetensorsFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long fileLength = stream.Length;
        if (fileLength < 8)
            throw Bad(path, $"the file has {fileLength} bytes, fewer than the 8 of the header length (truncated?)");
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > MaxHeaderBytes)
            throw Bad(path, $"the header length {headerLength} exceeds the limit of {MaxHeaderBytes} bytes (not a safetensors file?)");
        if ((long)headerLength > fileLength - 8)
            throw Bad(path, $"the header length {headerLength} runs past the end of the {fileLength}-byte file (truncated?)");
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        long dataStart = 8 + (long)headerLength, dataLength = fileLength - dataStart;

        var (entries, metadata) = ParseHeader(path, header);
        CheckLayout(path, entries, dataLength);

        var tensors = new Dictionary<string, SafetensorsTensor>(StringComparer.Ordinal);
        foreach (var e in entries)
        {
            var data = new float[e.Numel];
            stream.Position = dataStart + e.Begin;
            ReadAsFloat(stream, e.Dtype, data);
            tensors.Add(e.Name, new SafetensorsTensor(e.Name, data, e.Shape));
        }
        return new SafetensorsFile(tensors, metadata);
    }

    // ---- header ----------------------------------------------------------------------------------------

    private sealed record Entry(string Name, string Dtype, int[] Shape, int Numel, long Begin, long End);

    private static byte[] Header(string path, SafetensorsTensor[] tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, JsonOptions))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    ArgumentNullException.ThrowIfNull(value, $"metadata[{key}]");
                    json.WriteString(key, value);
                }
                json.WriteEndObject();
            }
            long offset = 0;
            for (int i = 0; i < tensors.Length; i++)
            {
                var t = tensors[i];
                if (i > 0 && tensors[i - 1].Name == t.Name)
                    throw new ArgumentException($"Safetensors.Write {path}: tensor name '{t.Name}' appears twice.");
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", "F32");
                json.WriteStartArray("shape");
                foreach (int d in t.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                long end = offset + 4L * t.Data.Length;
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(end);
                json.WriteEndArray();
                offset = end;
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
        while (buffer.Length % 8 != 0) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }

    private static void CheckTensor(string path, SafetensorsTensor t)
    {
        ArgumentNullException.ThrowIfNull(t, "tensors");
        ArgumentNullException.ThrowIfNull(t.Name, nameof(SafetensorsTensor.Name));
        ArgumentNullException.ThrowIfNull(t.Data, $"{t.Name}.Data");
        ArgumentNullException.ThrowIfNull(t.Shape, $"{t.Name}.Shape");
        if (t.Name.Length == 0 || t.Name == "__metadata__")
            throw new ArgumentException($"Safetensors.Write {path}: '{t.Name}' cannot name a tensor.");
        long numel = 1;
        foreach (int d in t.Shape)
        {
            if (d < 0) throw new ArgumentException($"Safetensors.Write {path}: tensor '{t.Name}' has a negative dimension in shape [{string.Join(",", t.Shape)}].");
            numel *= d;
        }
        if (numel != t.Data.Length)
            throw new ArgumentException($"Safetensors.Write {path}: tensor '{t.Name}' has shape [{string.Join(",", t.Shape)}] ({numel} elements) but {t.Data.Length} values.");
    }

    private static (List<Entry>, Dictionary<string, string>) ParseHeader(string path, byte[] header)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException ex) { throw Bad(path, $"the header is not valid JSON ({ex.Message})", ex); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw Bad(path, $"the header is a JSON {doc.RootElement.ValueKind}, not an object");
            var entries = new List<Entry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(prop.Name))
                    throw Bad(path, $"the header names '{prop.Name}' twice");
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind == JsonValueKind.Null) continue; // the reference reads null as "no metadata"
                    if (prop.Value.ValueKind != JsonValueKind.Object)
                        throw Bad(path, $"__metadata__ is a JSON {prop.Value.ValueKind}, not an object of strings");
                    foreach (var kv in prop.Value.EnumerateObject())
                    {
                        if (kv.Value.ValueKind != JsonValueKind.String)
                            throw Bad(path, $"__metadata__ value '{kv.Name}' is a JSON {kv.Value.ValueKind}, not a string");
                        if (!metadata.TryAdd(kv.Name, kv.Value.GetString()!))
                            throw Bad(path, $"__metadata__ names '{kv.Name}' twice");
                    }
                }
                else entries.Add(ParseEntry(path, prop.Name, prop.Value));
            }
            return (entries, metadata);
        }
    }

    private static Entry ParseEntry(string path, string name, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object)
            throw Bad(path, $"tensor '{name}': entry is a JSON {e.ValueKind}, not an object");
        if (!e.TryGetProperty("dtype", out var dtypeEl) || dtypeEl.ValueKind != JsonValueKind.String)
            throw Bad(path, $"tensor '{name}': missing string field 'dtype'");
        string dtype = dtypeEl.GetString()!;
        if (ElementSize(dtype) == 0)
            throw Bad(path, $"tensor '{name}': dtype '{dtype}' is not supported (F32, F64, F16, BF16 are)");
        var shapeL = NaturalArray(path, name, e, "shape");
        var offsets = NaturalArray(path, name, e, "data_offsets");
        if (offsets.Length != 2)
            throw Bad(path, $"tensor '{name}': data_offsets has {offsets.Length} numbers, not [begin, end]");
        if (offsets[0] > offsets[1])
            throw Bad(path, $"tensor '{name}': data_offsets [{offsets[0]}, {offsets[1]}] end before they begin");
        long numel = 1;
        foreach (long d in shapeL)
        {
            if (d > int.MaxValue || (d > 0 && numel > Array.MaxLength / d))
                throw Bad(path, $"tensor '{name}': shape [{string.Join(",", shapeL)}] has more elements than one array holds");
            numel *= d;
        }
        long bytes = offsets[1] - offsets[0];
        if (bytes != numel * ElementSize(dtype))
            throw Bad(path, $"tensor '{name}': shape [{string.Join(",", shapeL)}] of {dtype} is {numel * ElementSize(dtype)} bytes, but data_offsets [{offsets[0]}, {offsets[1]}] span {bytes}");
        return new Entry(name, dtype, Array.ConvertAll(shapeL, d => (int)d), (int)numel, offsets[0], offsets[1]);
    }

    private static long[] NaturalArray(string path, string name, JsonElement e, string field)
    {
        if (!e.TryGetProperty(field, out var arr) || arr.ValueKind != JsonValueKind.Array)
            throw Bad(path, $"tensor '{name}': missing array field '{field}'");
        var values = new long[arr.GetArrayLength()];
        int i = 0;
        foreach (var v in arr.EnumerateArray())
        {
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long x) || x < 0)
                throw Bad(path, $"tensor '{name}': {field} holds {v.GetRawText()}, not a non-negative integer");
            values[i++] = x;
        }
        return values;
    }

    // The tensors, ordered by offset, must tile the data area exactly: from 0, back to back, to its end.
    private static void CheckLayout(string path, List<Entry> entries, long dataLength)
    {
        entries.Sort((x, y) => x.Begin != y.Begin ? x.Begin.CompareTo(y.Begin) : x.End.CompareTo(y.End));
        foreach (var e in entries)
            if (e.End > dataLength)
                throw Bad(path, $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] run past the {dataLength} data bytes (truncated?)");
        long expected = 0;
        foreach (var e in entries)
        {
            if (e.Begin < expected)
                throw Bad(path, $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] overlap the previous tensor, which ends at {expected}");
            if (e.Begin > expected)
                throw Bad(path, $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] leave a gap after byte {expected}");
            expected = e.End;
        }
        if (expected != dataLength)
            throw Bad(path, $"the tensors cover {expected} data bytes but the file holds {dataLength} after the header");
    }

    // ---- data ------------------------------------------------------------------------------------------

    private static int ElementSize(string dtype) => dtype switch
    {
        "F32" => 4,
        "F64" => 8,
        "F16" or "BF16" => 2,
        _ => 0,
    };

    private static void WriteLittleEndian(Stream stream, float[] data)
    {
        if (BitConverter.IsLittleEndian) { stream.Write(MemoryMarshal.AsBytes(data.AsSpan())); return; }
        Span<byte> b = stackalloc byte[4];
        foreach (float x in data) { BinaryPrimitives.WriteSingleLittleEndian(b, x); stream.Write(b); }
    }

    private static void ReadAsFloat(Stream stream, string dtype, float[] dst)
    {
        if (dtype == "F32" && BitConverter.IsLittleEndian)
        {
            stream.ReadExactly(MemoryMarshal.AsBytes(dst.AsSpan()));
            return;
        }
        int size = ElementSize(dtype);
        var raw = new byte[dst.Length * size];
        stream.ReadExactly(raw);
        for (int i = 0; i < dst.Length; i++)
        {
            var b = raw.AsSpan(i * size, size);
            dst[i] = dtype switch
            {
                "F32" => BinaryPrimitives.ReadSingleLittleEndian(b),
                "F64" => (float)BinaryPrimitives.ReadDoubleLittleEndian(b),
                "F16" => (float)BinaryPrimitives.ReadHalfLittleEndian(b),
                _ => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(b) << 16), // BF16: the top half of an F32
            };
        }
    }

    private static InvalidDataException Bad(string path, string what, Exception? inner = null) =>
        new($"Safetensors file '{path}': {what}.", inner);
}
