using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace AmbientNative.Data;

/// <summary>How a 4-D NPY array orders its axes.</summary>
public enum NpyLayout
{
    /// <summary>Whichever of axis 1 (NCHW) or axis 3 (NHWC) has 1 or 3 entries; an error when both or neither do.</summary>
    Auto,
    Nchw,
    Nhwc,
}

/// <summary>What range float32 values are in (uint8 is always 0–255).</summary>
public enum NpyValueRange
{
    /// <summary>[−1, 1] when any value is negative, 0–255 when any exceeds 1, else [0, 1].</summary>
    Auto,
    MinusOneToOne,
    ZeroToOne,
    ZeroTo255,
}

/// <summary>
/// NumPy .npy files: the magic "\x93NUMPY", a version (1.0: 16-bit header length; 2.0 and 3.0: 32-bit), a Python
/// dict literal {'descr': …, 'fortran_order': …, 'shape': (…)}, then the raw values. Images are uint8 ('|u1')
/// or little-endian float32 ('&lt;f4'), C order, [N, H, W] (grey), [N, C, H, W] or [N, H, W, C] with C = 1 or 3.
/// Labels, in a second file, are 1-D integers ('|u1', '&lt;i4' or '&lt;i8').
/// </summary>
public static partial class NpyFormat
{
    /// <summary>The parsed header of an .npy file and where its data starts.</summary>
    public sealed record Header(string Descr, bool FortranOrder, int[] Shape, int DataOffset)
    {
        public long Count => Shape.Aggregate(1L, (a, d) => a * d);
    }

    public static ImageDataset Load(string path, NpyLayout layout = NpyLayout.Auto, NpyValueRange range = NpyValueRange.Auto,
        string? labelsPath = null)
    {
        var bytes = DataFile.ReadAll(path);
        var h = ReadHeader(path, bytes, "'|u1' (uint8) or '<f4' (float32)");
        int elem = h.Descr switch
        {
            "|u1" or "<u1" or "u1" => 1,
            "<f4" => 4,
            _ => throw new DatasetException(path, $"has dtype '{h.Descr}'; images must be '|u1' (uint8) or '<f4' (little-endian float32)."),
        };
        CheckDataLength(path, bytes, h, elem);

        var s = h.Shape;
        int n, c, height, width;
        bool nhwc;
        if (s.Length == 3) { (n, c, height, width, nhwc) = (s[0], 1, s[1], s[2], false); }
        else if (s.Length == 4)
        {
            nhwc = ResolveLayout(path, s, layout) == NpyLayout.Nhwc;
            (n, c, height, width) = nhwc ? (s[0], s[3], s[1], s[2]) : (s[0], s[1], s[2], s[3]);
            if (c is not (1 or 3))
                throw new DatasetException(path, $"shape ({string.Join(", ", s)}) read as {(nhwc ? "NHWC" : "NCHW")} has {c} channels; images need 1 or 3.");
        }
        else throw new DatasetException(path, $"has shape ({string.Join(", ", s)}); images need (N, H, W), (N, C, H, W) or (N, H, W, C).");
        if (n == 0 || height == 0 || width == 0) throw new DatasetException(path, $"holds no images (shape ({string.Join(", ", s)})).");

        var raw = bytes.AsSpan(h.DataOffset);
        var values = new float[h.Count];
        if (elem == 1)
            for (int i = 0; i < values.Length; i++) values[i] = Pixels.FromByte(raw[i]);
        else
            ScaleFloats(path, raw, values, range);

        if (nhwc) values = NhwcToNchw(values, n, height, width, c);

        int[]? labels = labelsPath is null ? null : LoadLabels(labelsPath, n, path);
        return new ImageDataset(values, n, c, height, width, labels, source: path);
    }

    /// <summary>Reads a 1-D integer .npy of exactly <paramref name="count"/> labels.</summary>
    public static int[] LoadLabels(string path, int count, string imagesPath)
    {
        var bytes = DataFile.ReadAll(path);
        var h = ReadHeader(path, bytes, "'|u1', '<i4' or '<i8'");
        int elem = h.Descr switch
        {
            "|u1" or "<u1" or "u1" => 1,
            "<i4" => 4,
            "<i8" => 8,
            _ => throw new DatasetException(path, $"has dtype '{h.Descr}'; labels must be '|u1', '<i4' or '<i8'."),
        };
        if (h.Shape.Length != 1) throw new DatasetException(path, $"has shape ({string.Join(", ", h.Shape)}); labels must be 1-D.");
        CheckDataLength(path, bytes, h, elem);
        if (h.Shape[0] != count) throw new DatasetException(path, $"has {h.Shape[0]} labels but {imagesPath} has {count} images.");
        var raw = bytes.AsSpan(h.DataOffset);
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            long v = elem switch
            {
                1 => raw[i],
                4 => BinaryPrimitives.ReadInt32LittleEndian(raw.Slice(4 * i)),
                _ => BinaryPrimitives.ReadInt64LittleEndian(raw.Slice(8 * i)),
            };
            if (v < 0 || v > int.MaxValue) throw new DatasetException(path, $"label {i} is {v}; labels must be non-negative integers.");
            labels[i] = (int)v;
        }
        return labels;
    }

    /// <summary>Parses and checks the header (magic, version, dict, C order).</summary>
    public static Header ReadHeader(string path, byte[] b, string expected)
    {
        ReadOnlySpan<byte> magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];
        if (b.Length < 10 || !b.AsSpan(0, 6).SequenceEqual(magic))
            throw new DatasetException(path, "does not start with the NPY magic \\x93NUMPY (not a .npy file).");
        int major = b[6];
        int lenSize = major switch
        {
            1 => 2,
            2 or 3 => 4,
            _ => throw new DatasetException(path, $"has NPY format version {major}.{b[7]}; versions 1.0–3.0 are supported."),
        };
        if (b.Length < 8 + lenSize) throw new DatasetException(path, "is truncated inside its header.");
        long headerLen = lenSize == 2 ? BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(8)) : BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(8));
        long offset = 8 + lenSize + headerLen;
        if (offset > b.Length) throw new DatasetException(path, $"is truncated inside its header ({b.Length} bytes, header ends at {offset}).");
        string dict = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(b, 8 + lenSize, (int)headerLen);

        var descr = DescrRegex().Match(dict);
        var fortran = FortranRegex().Match(dict);
        var shape = ShapeRegex().Match(dict);
        if (!descr.Success || !fortran.Success || !shape.Success)
            throw new DatasetException(path, $"has a header without 'descr', 'fortran_order' and 'shape': {dict.Trim()}");
        if (fortran.Groups[1].Value == "True")
            throw new DatasetException(path, "is stored in Fortran order; save it in C order (numpy.ascontiguousarray) first.");
        var dims = new List<int>();
        foreach (var part in shape.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(part.TrimEnd('L'), out int d) || d < 0)
                throw new DatasetException(path, $"has an unreadable shape ({shape.Groups[1].Value}).");
            dims.Add(d);
        }
        string dtype = descr.Groups[1].Value;
        if (dtype.StartsWith('>'))
            throw new DatasetException(path, $"has big-endian dtype '{dtype}'; expected {expected}.");
        return new Header(dtype, false, dims.ToArray(), (int)offset);
    }

    private static void CheckDataLength(string path, byte[] b, Header h, int elem)
    {
        long need = h.Count * elem, have = b.Length - h.DataOffset;
        if (have < need)
            throw new DatasetException(path, $"is truncated: shape ({string.Join(", ", h.Shape)}) of '{h.Descr}' needs {need} bytes of data, found {have}.");
        if (have > need)
            throw new DatasetException(path, $"has {have - need} bytes after the data that shape ({string.Join(", ", h.Shape)}) describes.");
        if (h.Count > Array.MaxLength) throw new DatasetException(path, $"holds {h.Count} values, more than one array can hold.");
    }

    private static NpyLayout ResolveLayout(string path, int[] s, NpyLayout layout)
    {
        if (layout != NpyLayout.Auto) return layout;
        bool nchw = s[1] is 1 or 3, nhwc = s[3] is 1 or 3;
        if (nchw && !nhwc) return NpyLayout.Nchw;
        if (nhwc && !nchw) return NpyLayout.Nhwc;
        throw new DatasetException(path, nchw
            ? $"shape ({string.Join(", ", s)}) could be NCHW or NHWC; give the layout explicitly."
            : $"shape ({string.Join(", ", s)}) has neither 1 nor 3 entries on axis 1 (NCHW) or axis 3 (NHWC); images need 1 or 3 channels.");
    }

    private static void ScaleFloats(string path, ReadOnlySpan<byte> raw, float[] dst, NpyValueRange range)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        for (int i = 0; i < dst.Length; i++)
        {
            float v = BinaryPrimitives.ReadSingleLittleEndian(raw.Slice(4 * i));
            if (!float.IsFinite(v)) throw new DatasetException(path, $"value {i} is {v}; images must be finite.");
            dst[i] = v;
            min = Math.Min(min, v); max = Math.Max(max, v);
        }
        if (range == NpyValueRange.Auto)
            range = min < 0 ? NpyValueRange.MinusOneToOne : max > 1 ? NpyValueRange.ZeroTo255 : NpyValueRange.ZeroToOne;
        var (lo, hi) = range switch
        {
            NpyValueRange.MinusOneToOne => (-1f, 1f),
            NpyValueRange.ZeroToOne => (0f, 1f),
            _ => (0f, 255f),
        };
        // A small tolerance for values written by float arithmetic (e.g. 1.0000001); anything further is a wrong range.
        float tol = 1e-5f * (hi - lo);
        if (min < lo - tol || max > hi + tol)
            throw new DatasetException(path, $"float values span [{min}, {max}], outside the range [{lo}, {hi}] ({range}).");
        float scale = 2f / (hi - lo);
        for (int i = 0; i < dst.Length; i++) dst[i] = Math.Clamp((dst[i] - lo) * scale - 1f, -1f, 1f);
    }

    private static float[] NhwcToNchw(float[] src, int n, int h, int w, int c)
    {
        var dst = new float[src.Length];
        int plane = h * w;
        for (int i = 0; i < n; i++)
            for (int p = 0; p < plane; p++)
                for (int ch = 0; ch < c; ch++)
                    dst[(i * c + ch) * plane + p] = src[(i * plane + p) * c + ch];
        return dst;
    }

    [GeneratedRegex(@"['""]descr['""]\s*:\s*['""]([^'""]*)['""]")]
    private static partial Regex DescrRegex();
    [GeneratedRegex(@"['""]fortran_order['""]\s*:\s*(True|False)")]
    private static partial Regex FortranRegex();
    [GeneratedRegex(@"['""]shape['""]\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapeRegex();
}
