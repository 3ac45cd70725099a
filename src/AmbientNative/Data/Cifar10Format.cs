namespace AmbientNative.Data;

/// <summary>
/// CIFAR-10 binary batches (data_batch_1.bin … data_batch_5.bin, test_batch.bin): records of one label byte
/// (0–9) then 3072 pixel bytes, the red, green and blue 32×32 planes in turn, so each record is already CHW.
/// </summary>
public static class Cifar10Format
{
    public const int Side = 32, RecordSize = 1 + 3 * Side * Side;

    /// <summary>Loads the given batch files, in the given order, as one RGB dataset with labels.</summary>
    public static ImageDataset Load(IReadOnlyList<string> files)
    {
        if (files.Count == 0) throw new ArgumentException("No CIFAR-10 batch files given.");
        var parts = new List<byte[]>();
        var origin = new List<string>();
        long records = 0;
        foreach (var path in files)
        {
            var b = DataFile.ReadAll(path);
            if (b.Length == 0) throw new DatasetException(path, "is empty.");
            if (b.Length % RecordSize != 0)
                throw new DatasetException(path, $"is {b.Length} bytes, not a whole number of {RecordSize}-byte CIFAR-10 records (truncated, or not a CIFAR-10 binary batch).");
            for (int r = 0; r < b.Length / RecordSize; r++)
                if (b[r * RecordSize] > 9)
                    throw new DatasetException(path, $"record {r} has label {b[r * RecordSize]}; CIFAR-10 labels are 0–9 (is this CIFAR-100, whose records have two label bytes?).");
            parts.Add(b);
            origin.Add(path);
            records += b.Length / RecordSize;
        }
        const int size = RecordSize - 1;
        if (records * size > Array.MaxLength) throw new DatasetException(files[0], $"{records} images are more than one array can hold.");
        int n = (int)records;
        var images = new float[n * size];
        var labels = new int[n];
        int k = 0;
        foreach (var b in parts)
            for (int r = 0; r < b.Length / RecordSize; r++, k++)
            {
                labels[k] = b[r * RecordSize];
                var px = b.AsSpan(r * RecordSize + 1, size);
                var dst = images.AsSpan(k * size, size);
                for (int i = 0; i < size; i++) dst[i] = Pixels.FromByte(px[i]);
            }
        return new ImageDataset(images, n, 3, Side, Side, labels, source: string.Join(", ", origin));
    }

    /// <summary>
    /// Loads data_batch_*.bin (train) or test_batch.bin (test) from a folder such as cifar-10-batches-bin,
    /// in ordinal name order.
    /// </summary>
    public static ImageDataset LoadFolder(string folder, bool train = true)
    {
        var files = Files(folder, train);
        if (files.Length == 0)
            throw new DatasetException(folder, train ? "has no data_batch_*.bin files (a CIFAR-10 binary folder)." : "has no test_batch.bin.");
        return Load(files);
    }

    /// <summary>True when <paramref name="folder"/> holds CIFAR-10 binary batches.</summary>
    public static bool IsCifarFolder(string folder) => Files(folder, true).Length > 0 || Files(folder, false).Length > 0;

    private static string[] Files(string folder, bool train)
    {
        if (!Directory.Exists(folder)) return [];
        var files = Directory.GetFiles(folder, train ? "data_batch_*.bin" : "test_batch.bin");
        Array.Sort(files, StringComparer.Ordinal);
        return files;
    }
}
