namespace AmbientNative.Data;

/// <summary>
/// IDX files (MNIST, Fashion-MNIST), plain or gzipped: two zero bytes, a type code (0x08 = unsigned byte, the
/// only one image sets use), the number of dimensions, each dimension as a big-endian int32, then the values
/// row-major. Images are [N, H, W] (grey); labels are [N].
/// </summary>
public static class IdxFormat
{
    /// <summary>The default file names of the MNIST family, with or without ".gz".</summary>
    public static readonly string[] TrainNames = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"];
    public static readonly string[] TestNames = ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    /// <summary>Loads an images file and, optionally, its labels file (which must have one label per image).</summary>
    public static ImageDataset Load(string imagesPath, string? labelsPath = null)
    {
        var (dims, pixels) = Read(imagesPath);
        if (dims.Length != 3)
            throw new DatasetException(imagesPath, $"has {dims.Length} dimensions [{string.Join(", ", dims)}]; an IDX images file has 3 (count, height, width).");
        int n = dims[0], h = dims[1], w = dims[2];
        if (n == 0 || h == 0 || w == 0) throw new DatasetException(imagesPath, $"holds no images (dimensions [{n}, {h}, {w}]).");
        int[]? labels = null;
        if (labelsPath != null)
        {
            var (ldims, lbytes) = Read(labelsPath);
            if (ldims.Length != 1)
                throw new DatasetException(labelsPath, $"has {ldims.Length} dimensions; an IDX labels file has 1.");
            if (ldims[0] != n)
                throw new DatasetException(labelsPath, $"has {ldims[0]} labels but {imagesPath} has {n} images.");
            labels = new int[n];
            for (int i = 0; i < n; i++) labels[i] = lbytes[i];
        }
        var images = new float[pixels.Length];
        for (int i = 0; i < pixels.Length; i++) images[i] = Pixels.FromByte(pixels[i]);
        return new ImageDataset(images, n, 1, h, w, labels, source: imagesPath);
    }

    /// <summary>
    /// Loads the train (or test) split from a folder holding the standard file names (plain or .gz).
    /// </summary>
    public static ImageDataset LoadFolder(string folder, bool train = true)
    {
        var names = train ? TrainNames : TestNames;
        string images = Find(folder, names[0]) ?? throw new DatasetException(folder,
            $"has no {names[0]} or {names[0]}.gz (an MNIST-style folder holds {names[0]}[.gz] and {names[1]}[.gz]).");
        return Load(images, Find(folder, names[1]));
    }

    /// <summary>True when <paramref name="folder"/> holds an MNIST-style training images file.</summary>
    public static bool IsIdxFolder(string folder) => Find(folder, TrainNames[0]) != null || Find(folder, TestNames[0]) != null;

    /// <summary>Reads one IDX file of unsigned bytes: its dimensions and its values (exactly their product).</summary>
    public static (int[] Dims, byte[] Values) Read(string path)
    {
        var b = DataFile.ReadAll(path);
        if (b.Length < 4) throw new DatasetException(path, $"is {b.Length} bytes long; too short for an IDX header.");
        if (b[0] != 0 || b[1] != 0)
            throw new DatasetException(path, $"has magic bytes {b[0]:X2} {b[1]:X2} {b[2]:X2} {b[3]:X2}; an IDX file starts with 00 00, a type code and the number of dimensions.");
        if (b[2] != 0x08)
            throw new DatasetException(path, $"holds IDX type 0x{b[2]:X2}; only unsigned bytes (0x08) are supported.");
        int rank = b[3];
        if (rank == 0) throw new DatasetException(path, "declares 0 dimensions.");
        int header = 4 + 4 * rank;
        if (b.Length < header) throw new DatasetException(path, $"is truncated inside its header ({b.Length} of {header} bytes).");
        var dims = new int[rank];
        long count = 1;
        for (int i = 0; i < rank; i++)
        {
            dims[i] = DataFile.BigEndianInt32(b, 4 + 4 * i);
            if (dims[i] < 0) throw new DatasetException(path, $"has a negative dimension ({dims[i]}).");
            count *= dims[i];
        }
        long have = b.Length - header;
        if (have < count)
            throw new DatasetException(path, $"is truncated: dimensions [{string.Join(", ", dims)}] need {count} bytes of data, found {have}.");
        if (have > count)
            throw new DatasetException(path, $"has {have - count} bytes after the data that dimensions [{string.Join(", ", dims)}] describe (wrong header, or two files joined).");
        return (dims, b.AsSpan(header).ToArray());
    }

    private static string? Find(string folder, string name)
    {
        foreach (var candidate in new[] { name, name + ".gz" })
        {
            var p = Path.Combine(folder, candidate);
            if (File.Exists(p)) return p;
        }
        return null;
    }
}
