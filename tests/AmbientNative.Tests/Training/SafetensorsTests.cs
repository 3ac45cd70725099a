using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using AmbientNative.Training;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Training;

public class SafetensorsTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => Directory.CreateDirectory(_dir = Path.Combine(Path.GetTempPath(), $"ambient-st-{Guid.NewGuid():N}"));

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    private static float[] RandomFloats(int n, int salt = 0)
    {
        var a = new float[n];
        Rand.ForTest(salt).FillNormal(a);
        return a;
    }

    // A file as a Python writer lays it out: u64 LE header length, the JSON header padded with spaces to 8 bytes, the data.
    private static byte[] Layout(string json, byte[] data)
    {
        var header = Encoding.UTF8.GetBytes(json).ToList();
        while (header.Count % 8 != 0) header.Add((byte)' ');
        var bytes = new byte[8 + header.Count + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Count);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Count);
        return bytes;
    }

    private static byte[] F32(params float[] v)
    {
        var b = new byte[4 * v.Length];
        for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(4 * i), v[i]);
        return b;
    }

    [Test]
    public void Round_trip_keeps_every_bit_shape_name_and_metadata()
    {
        var special = RandomFloats(37);
        special[0] = float.NaN; special[1] = float.NegativeInfinity; special[2] = -0f; special[3] = float.Epsilon; special[4] = float.MaxValue;
        SafetensorsTensor[] tensors =
        [
            new("unet.enc.32x32_block0.conv0.weight", RandomFloats(3 * 5 * 2, 1), [3, 5, 2]),
            new("special", special, [37]),
            new("scalar", [1.25f], []),
            new("empty", [], [0, 4]),
            new("ünïcode/\"quoted\" name", RandomFloats(6, 2), [1, 2, 3]),
        ];
        var metadata = new Dictionary<string, string>
        {
            ["config"] = "{\"channels\": 128, \"mults\": [2, 2, 2]}",
            ["note"] = "line one\nline two — σ = 0.5 <&>",
            ["step"] = "12000",
        };
        string path = PathOf("model.safetensors");
        Safetensors.Write(path, tensors, metadata);
        var read = Safetensors.Read(path);

        Assert.That(read.Metadata, Is.EquivalentTo(metadata));
        Assert.That(read.Tensors.Keys, Is.EquivalentTo(tensors.Select(t => t.Name)));
        foreach (var t in tensors)
        {
            var r = read.Tensors[t.Name];
            Assert.That(r.Shape, Is.EqualTo(t.Shape), $"{t.Name} shape");
            Assert.That(r.Data.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(t.Data.Select(BitConverter.SingleToInt32Bits)), $"{t.Name} bits");
        }
    }

    [Test]
    public void Writer_produces_the_reference_byte_layout()
    {
        string path = PathOf("layout.safetensors");
        Safetensors.Write(path,
            [new("b", [3f], [1]), new("a.weight", [1f, -2f], [2])], // written in name order, like the reference
            // Python's writer, given the same tensors, produced these bytes (checked once on a host with safetensors 0.8.0;
            // it orders metadata keys by hash, so only single-key metadata compares byte for byte).
            new Dictionary<string, string> { ["format"] = "pt" });
        const string json = "{\"__metadata__\":{\"format\":\"pt\"},\"a.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
        var expected = Layout(json, F32(1f, -2f, 3f));
        var actual = File.ReadAllBytes(path);
        Assert.That((actual.Length - 12) % 8, Is.EqualTo(0), "data starts 8-byte aligned");
        Assert.That(Encoding.UTF8.GetString(actual), Is.EqualTo(Encoding.UTF8.GetString(expected)));
        Assert.That(actual, Is.EqualTo(expected));
    }

    [Test]
    public void Reads_a_hand_built_file_with_every_float_dtype_and_any_key_order()
    {
        // Keys in an order no writer of ours uses, metadata last, tensors stored out of name order.
        var data = new List<byte>();
        data.AddRange(F32(0.5f, -1.5f, 2f, 7f, -0.25f, 3f));                                   // z: F32 [2,3] @ 0..24
        foreach (double d in new[] { 0.1, -1e-3 }) { var b = new byte[8]; BinaryPrimitives.WriteDoubleLittleEndian(b, d); data.AddRange(b); } // y: F64 [2] @ 24..40
        foreach (float h in new[] { 1.5f, -2.25f, 0.0009765625f }) { var b = new byte[2]; BinaryPrimitives.WriteHalfLittleEndian(b, (Half)h); data.AddRange(b); } // x: F16 [3] @ 40..46
        data.AddRange(new byte[] { 0xC0, 0x3F, 0x20, 0xC1 });                                  // w: BF16 [2] = 1.5, −10 @ 46..50
        const string json = "{\"y\":{\"shape\":[2],\"data_offsets\":[24,40],\"dtype\":\"F64\"}," +
                            "\"w\":{\"data_offsets\":[46,50],\"dtype\":\"BF16\",\"shape\":[2]}," +
                            "\"z\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}," +
                            "\"x\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[40,46]}," +
                            "\"__metadata__\":{\"format\":\"pt\"}}";
        string path = PathOf("python.safetensors");
        File.WriteAllBytes(path, Layout(json, data.ToArray()));

        var f = Safetensors.Read(path);
        Assert.That(f.Metadata, Is.EquivalentTo(new Dictionary<string, string> { ["format"] = "pt" }));
        Assert.That(f.Tensors["z"].Shape, Is.EqualTo(new[] { 2, 3 }));
        Assert.That(f.Tensors["z"].Data, Is.EqualTo(new[] { 0.5f, -1.5f, 2f, 7f, -0.25f, 3f }));
        Assert.That(f.Tensors["y"].Data, Is.EqualTo(new[] { (float)0.1, (float)-1e-3 }));
        Assert.That(f.Tensors["x"].Data, Is.EqualTo(new[] { 1.5f, -2.25f, 0.0009765625f }));
        Assert.That(f.Tensors["w"].Data, Is.EqualTo(new[] { 1.5f, -10f }));
    }

    // Written by Python (safetensors 0.8.0, torch 2.11) with
    //   save_file({"z": torch.arange(6.).reshape(2, 3) - 2.5, "h": torch.tensor([1.5, -2, 2**-10], dtype=torch.float16),
    //              "bf": torch.tensor([1.5, -10, 3.140625], dtype=torch.bfloat16), "d": torch.tensor([0.1, -1e-3], dtype=torch.float64),
    //              "conv.weight": torch.full((1, 1, 1, 1), 0.25)}, path, metadata={"format": "pt", "step": "12"}).
    // The same run loaded a file from our writer and found every tensor and the metadata intact.
    private const string PythonFileHex =
        "58010000000000007b225f5f6d657461646174615f5f223a7b2273746570223a223132222c22666f726d6174223a227074227d2c2264223a" +
        "7b226474797065223a22463634222c227368617065223a5b325d2c22646174615f6f666673657473223a5b302c31365d7d2c22636f6e762e" +
        "776569676874223a7b226474797065223a22463332222c227368617065223a5b312c312c312c315d2c22646174615f6f666673657473223a" +
        "5b31362c32305d7d2c227a223a7b226474797065223a22463332222c227368617065223a5b322c335d2c22646174615f6f66667365747322" +
        "3a5b32302c34345d7d2c226266223a7b226474797065223a2242463136222c227368617065223a5b335d2c22646174615f6f666673657473" +
        "223a5b34342c35305d7d2c2268223a7b226474797065223a22463136222c227368617065223a5b335d2c22646174615f6f66667365747322" +
        "3a5b35302c35365d7d7d2020202020209a9999999999b93ffca9f1d24d6250bf0000803e000020c00000c0bf000000bf0000003f0000c03f" +
        "00002040c03f20c14940003e00c00014";

    [Test]
    public void Reads_a_file_written_by_python_safetensors()
    {
        string path = PathOf("torch.safetensors");
        File.WriteAllBytes(path, Convert.FromHexString(PythonFileHex));
        var f = Safetensors.Read(path);
        Assert.That(f.Metadata, Is.EquivalentTo(new Dictionary<string, string> { ["format"] = "pt", ["step"] = "12" }));
        Assert.That(f.Tensors.Keys, Is.EquivalentTo(new[] { "z", "h", "bf", "d", "conv.weight" }));
        Assert.That(f.Tensors["z"].Shape, Is.EqualTo(new[] { 2, 3 }));
        Assert.That(f.Tensors["z"].Data, Is.EqualTo(new[] { -2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f }));
        Assert.That(f.Tensors["h"].Data, Is.EqualTo(new[] { 1.5f, -2f, 0.0009765625f }));
        Assert.That(f.Tensors["bf"].Data, Is.EqualTo(new[] { 1.5f, -10f, 3.140625f }));
        Assert.That(f.Tensors["d"].Data, Is.EqualTo(new[] { (float)0.1, (float)-1e-3 }));
        Assert.That(f.Tensors["conv.weight"].Shape, Is.EqualTo(new[] { 1, 1, 1, 1 }));
        Assert.That(f.Tensors["conv.weight"].Data, Is.EqualTo(new[] { 0.25f }));
    }

    [Test]
    public void Empty_file_of_tensors_round_trips()
    {
        string path = PathOf("empty.safetensors");
        Safetensors.Write(path, []);
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(Layout("{}", [])));
        var f = Safetensors.Read(path);
        Assert.That(f.Tensors, Is.Empty);
        Assert.That(f.Metadata, Is.Empty);
    }

    [Test]
    public void Null_metadata_reads_as_none()
    {
        string path = PathOf("null.safetensors");
        File.WriteAllBytes(path, Layout("{\"__metadata__\":null,\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", F32(2f)));
        var f = Safetensors.Read(path);
        Assert.That(f.Metadata, Is.Empty);
        Assert.That(f.Tensors["w"].Data, Is.EqualTo(new[] { 2f }));
    }

    [Test]
    public void Write_into_a_missing_folder_fails_cleanly()
    {
        Assert.Throws<DirectoryNotFoundException>(() => Safetensors.Write(Path.Combine(_dir, "no", "such.safetensors"), [new("w", [1f], [1])]));
    }

    [Test]
    public void Write_replaces_atomically_and_leaves_no_temporary_files()
    {
        string path = PathOf("ckpt.safetensors");
        Safetensors.Write(path, [new("w", [1f, 2f], [2])]);
        Safetensors.Write(path, [new("w", [3f, 4f, 5f], [3])]);
        Assert.That(Safetensors.Read(path).Tensors["w"].Data, Is.EqualTo(new[] { 3f, 4f, 5f }));

        // A rejected write leaves the previous checkpoint intact.
        var before = File.ReadAllBytes(path);
        Assert.Throws<ArgumentException>(() => Safetensors.Write(path, [new("w", [1f], [2])]));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before));
        Assert.That(Directory.GetFiles(_dir).Select(Path.GetFileName), Is.EqualTo(new[] { "ckpt.safetensors" }));
    }

    private static IEnumerable<TestCaseData> BadTensors()
    {
        yield return new TestCaseData(new SafetensorsTensor[] { new("w", [1f, 2f, 3f], [2]) }, "tensor 'w' has shape [2] (2 elements) but 3 values");
        yield return new TestCaseData(new SafetensorsTensor[] { new("w", [1f], [1]), new("w", [2f], [1]) }, "tensor name 'w' appears twice");
        yield return new TestCaseData(new SafetensorsTensor[] { new("__metadata__", [1f], [1]) }, "'__metadata__' cannot name a tensor");
        yield return new TestCaseData(new SafetensorsTensor[] { new("", [1f], [1]) }, "'' cannot name a tensor");
        yield return new TestCaseData(new SafetensorsTensor[] { new("w", [], [-1, 0]) }, "tensor 'w' has a negative dimension");
    }

    [TestCaseSource(nameof(BadTensors))]
    public void Writer_rejects_bad_tensors(SafetensorsTensor[] tensors, string message)
    {
        var ex = Assert.Throws<ArgumentException>(() => Safetensors.Write(PathOf("bad.safetensors"), tensors))!;
        Assert.That(ex.Message, Does.Contain(message).And.Contain("bad.safetensors"));
        Assert.That(Directory.GetFiles(_dir), Is.Empty);
    }

    private const string W2 = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";

    private static IEnumerable<TestCaseData> Corruptions()
    {
        TestCaseData Case(string name, byte[] bytes, string message) => new TestCaseData(bytes, message).SetArgDisplayNames(name);
        var good = Layout(W2, F32(1f, 2f));
        yield return Case("fewer_than_8_bytes", good[..5], "fewer than the 8 of the header length");
        var longHeader = (byte[])good.Clone(); BinaryPrimitives.WriteUInt64LittleEndian(longHeader, 1000);
        yield return Case("header_past_end", longHeader, "header length 1000 runs past the end");
        var hugeHeader = (byte[])good.Clone(); BinaryPrimitives.WriteUInt64LittleEndian(hugeHeader, 1UL << 40);
        yield return Case("header_too_large", hugeHeader, "exceeds the limit");
        yield return Case("truncated_data", good[..^4], "tensor 'w': data_offsets [0, 8] run past the 4 data bytes");
        yield return Case("trailing_bytes", [.. good, 0, 0, 0, 0], "the tensors cover 8 data bytes but the file holds 12");
        yield return Case("bad_json", Layout("{\"w\":{\"dtype\":\"F32\",", F32(1f, 2f)), "the header is not valid JSON");
        var nulPadded = Layout(W2 + "\0", F32(1f, 2f));
        yield return Case("nul_padding", nulPadded, "the header is not valid JSON");
        yield return Case("not_an_object", Layout("[1,2]", []), "the header is a JSON Array, not an object");
        yield return Case("duplicate_name", Layout("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", F32(1f, 2f)), "the header names 'w' twice");
        yield return Case("metadata_not_string", Layout("{\"__metadata__\":{\"step\":12},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", F32(1f, 2f)), "__metadata__ value 'step' is a JSON Number");
        yield return Case("unknown_dtype", Layout(W2.Replace("F32", "Q7"), F32(1f, 2f)), "tensor 'w': dtype 'Q7' is not supported");
        yield return Case("integer_dtype", Layout(W2.Replace("F32", "I32"), F32(1f, 2f)), "tensor 'w': dtype 'I32' is not supported");
        yield return Case("missing_shape", Layout("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", F32(1f, 2f)), "tensor 'w': missing array field 'shape'");
        yield return Case("negative_dim", Layout(W2.Replace("[2]", "[-2]"), F32(1f, 2f)), "tensor 'w': shape holds -2");
        yield return Case("fractional_dim", Layout(W2.Replace("[2]", "[2.5]"), F32(1f, 2f)), "tensor 'w': shape holds 2.5");
        yield return Case("shape_size_mismatch", Layout(W2.Replace("[2]", "[3]"), F32(1f, 2f)), "tensor 'w': shape [3] of F32 is 12 bytes, but data_offsets [0, 8] span 8");
        yield return Case("offsets_reversed", Layout(W2.Replace("[0,8]", "[8,0]"), F32(1f, 2f)), "tensor 'w': data_offsets [8, 0] end before they begin");
        yield return Case("offsets_three", Layout(W2.Replace("[0,8]", "[0,4,8]"), F32(1f, 2f)), "tensor 'w': data_offsets has 3 numbers");
        yield return Case("offset_out_of_range", Layout(W2.Replace("[0,8]", "[4,12]"), F32(1f, 2f)), "tensor 'w': data_offsets [4, 12] run past the 8 data bytes");
        yield return Case("overlap", Layout("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", F32(1f, 2f, 3f)), "tensor 'b': data_offsets [4, 12] overlap the previous tensor");
        yield return Case("gap", Layout("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", F32(1f, 2f, 3f)), "tensor 'b': data_offsets [8, 12] leave a gap after byte 4");
    }

    [TestCaseSource(nameof(Corruptions))]
    public void Corrupted_file_gives_an_error_naming_file_and_tensor(byte[] bytes, string message)
    {
        string path = PathOf("corrupt.safetensors");
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<InvalidDataException>(() => Safetensors.Read(path))!;
        Assert.That(ex.Message, Does.Contain(message).And.Contain(path));
    }

    [Test]
    public void Every_valid_layout_used_by_the_corruption_cases_reads()
    {
        // Guards the corruption table: its unbroken base file is accepted.
        string path = PathOf("good.safetensors");
        File.WriteAllBytes(path, Layout(W2, F32(1f, 2f)));
        Assert.That(Safetensors.Read(path).Tensors["w"].Data, Is.EqualTo(new[] { 1f, 2f }));
    }

    /// <summary>Interop with the Python reference, where python3 has the safetensors package (CI does not).</summary>
    [Test, Explicit("needs python3 with the safetensors and numpy packages")]
    public void Python_safetensors_reads_our_file_and_we_read_its_file()
    {
        string ours = PathOf("ours.safetensors"), theirs = PathOf("theirs.safetensors");
        Safetensors.Write(ours, [new("a.weight", [1f, -2f, 3.5f, 0.25f], [2, 2]), new("b", [7f], [])], new Dictionary<string, string> { ["format"] = "pt" });
        string script =
            "import sys, numpy as np\n" +
            "from safetensors.numpy import load_file, save_file\n" +
            "from safetensors import safe_open\n" +
            "t = load_file(sys.argv[1])\n" +
            "assert t['a.weight'].tolist() == [[1.0, -2.0], [3.5, 0.25]], t\n" +
            "assert t['b'].shape == () and float(t['b']) == 7.0, t\n" +
            "with safe_open(sys.argv[1], 'np') as f: assert f.metadata() == {'format': 'pt'}\n" +
            "save_file({'z': np.arange(6, dtype=np.float32).reshape(2, 3), 'h': np.array([1.5, -2.0], dtype=np.float16)}, sys.argv[2], metadata={'k': 'v'})\n";
        var psi = new ProcessStartInfo("python3") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { "-c", script, ours, theirs }) psi.ArgumentList.Add(arg);
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (err.Contains("No module named")) Assert.Ignore(err);
        Assert.That(p.ExitCode, Is.EqualTo(0), err);
        var f = Safetensors.Read(theirs);
        Assert.That(f.Tensors["z"].Data, Is.EqualTo(new[] { 0f, 1f, 2f, 3f, 4f, 5f }));
        Assert.That(f.Tensors["z"].Shape, Is.EqualTo(new[] { 2, 3 }));
        Assert.That(f.Tensors["h"].Data, Is.EqualTo(new[] { 1.5f, -2f }));
        Assert.That(f.Metadata["k"], Is.EqualTo("v"));
    }
}
