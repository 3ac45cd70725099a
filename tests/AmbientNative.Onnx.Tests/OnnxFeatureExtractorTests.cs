using AmbientNative.Evaluation;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;
using static AmbientNative.Onnx.Tests.OnnxModelBytes;

namespace AmbientNative.Onnx.Tests;

public class OnnxFeatureExtractorTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("ambient-onnx-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>y = x for x [N, 3, size, size] with a free batch dimension: the features are the model input itself.</summary>
    private string IdentityModel(int size, string input = "pixel_values") => Write("identity.onnx", Model(
        [new Node("Identity", [input], ["y"])],
        [(input, ["N", 3, size, size])], [("y", ["N", 3, size, size])]));

    // ---- the float64 reference of the preprocessing: resize as two interpolation matrices, out = Ry·X·Rxᵀ ----------

    /// <summary>[n, m] weights of PyTorch's bilinear interpolation (align_corners=False) along one axis.</summary>
    private static double[,] Interp(int m, int n)
    {
        var r = new double[n, m];
        for (int i = 0; i < n; i++)
        {
            double s = Math.Max((i + 0.5) * m / n - 0.5, 0);
            int i0 = Math.Min((int)Math.Floor(s), m - 1), i1 = Math.Min(i0 + 1, m - 1);
            double f = s - i0;
            r[i, i0] += 1 - f;
            r[i, i1] += f;
        }
        return r;
    }

    private static double[] Reference(double[] img, int c, int h, int w, int outC, int size, float[] mean, float[] std)
    {
        var ry = Interp(h, size);
        var rx = Interp(w, size);
        var y = new double[outC * size * size];
        for (int oc = 0; oc < outC; oc++)
        {
            int ic = c == 1 ? 0 : oc;
            for (int i = 0; i < size; i++)
            for (int j = 0; j < size; j++)
            {
                double v = 0;
                for (int a = 0; a < h; a++)
                for (int b = 0; b < w; b++)
                    v += ry[i, a] * rx[j, b] * img[ic * h * w + a * w + b];
                double m = mean[mean.Length == 1 ? 0 : oc], s = std[std.Length == 1 ? 0 : oc];
                y[oc * size * size + i * size + j] = ((v + 1) / 2 - m) / s;
            }
        }
        return y;
    }

    [Test]
    public void Bilinear_resize_matches_known_values()
    {
        var dst = new float[4];
        ImagePreprocessing.ResizeBilinear([0f, 1f], 1, 2, dst, 1, 4);
        Assert.That(dst, Is.EqualTo(new[] { 0f, 0.25f, 0.75f, 1f }), "PyTorch interpolate([0, 1], 4, bilinear, align_corners=False)");
        var same = new float[6];
        float[] src = [1, -2, 3, 0.5f, 7, -1];
        ImagePreprocessing.ResizeBilinear(src, 2, 3, same, 2, 3);
        Assert.That(same, Is.EqualTo(src), "same size is the identity");
        var down = new float[1];
        ImagePreprocessing.ResizeBilinear([1f, 2f, 3f, 4f], 2, 2, down, 1, 1);
        Assert.That(down[0], Is.EqualTo(2.5f), "2×2 → 1×1 samples the centre");
    }

    [TestCase(3, 5, 7, 3, 11)]  // upsample, non-square
    [TestCase(3, 9, 9, 3, 4)]   // downsample
    [TestCase(1, 6, 6, 3, 6)]   // grey replicated to RGB, same size
    public void Preprocessing_matches_the_float64_reference(int c, int h, int w, int outC, int size)
    {
        var rng = Rand.ForTest();
        var img = Rand.Uniform(rng, c * h * w, -1, 1);
        var outp = Rand.Poison(outC * size * size);
        var mean = OnnxExtractorOptions.ImageNetMean;
        var std = OnnxExtractorOptions.ImageNetStd;
        ImagePreprocessing.Preprocess(Check.ToFloat(img), c, h, w, outp, outC, size, mean, std);
        Check.Close(outp, Reference(img, c, h, w, outC, size, mean, std), 1e-6, "preprocessed");
    }

    [Test]
    public void Identity_model_returns_the_preprocessed_images_as_features()
    {
        const int n = 5, c = 3, h = 6, w = 6, size = 9;
        var rng = Rand.ForTest();
        var x = Rand.Uniform(rng, n * c * h * w, -1, 1);
        using var images = Tensor.FromArray(Check.ToFloat(x), new Shape(n, c, h, w));
        using var fx = new OnnxFeatureExtractor(IdentityModel(size), new OnnxExtractorOptions { InputSize = size, BatchSize = 2 });
        Assert.That((fx.InputName, fx.OutputName, fx.Name), Is.EqualTo(("pixel_values", "y", "onnx identity.onnx:y")));
        using var f = fx.Extract(images);
        Assert.That(f.Shape, Is.EqualTo(new Shape(n, c * size * size)));
        var expected = new List<double>();
        for (int i = 0; i < n; i++)
            expected.AddRange(Reference(x[(i * c * h * w)..((i + 1) * c * h * w)], c, h, w, c, size, OnnxExtractorOptions.ImageNetMean, OnnxExtractorOptions.ImageNetStd));
        Check.Close(f.Span, expected.ToArray(), 1e-6, "features");
    }

    [Test]
    public void MatMul_model_with_a_fixed_batch_runs_padded_batches()
    {
        // Flatten [2, 3, 4, 4] → [2, 48], MatMul by an initializer W [48, 5] → [2, 5]; three grey images, so the last
        // batch of two is padded and its padding row dropped.
        const int n = 3, size = 4, d = 3 * size * size, k = 5;
        var rng = Rand.ForTest();
        var wts = Rand.Normal(rng, d * k);
        var path = Write("matmul.onnx", Model(
            [new Node("Flatten", ["x"], ["flat"]), new Node("MatMul", ["flat", "W"], ["features"])],
            [("x", [2, 3, size, size])], [("features", [2, k])],
            [new Initializer("W", [d, k], Check.ToFloat(wts))]));
        var x = Rand.Uniform(rng, n * size * size, -1, 1);
        using var images = Tensor.FromArray(Check.ToFloat(x), new Shape(n, 1, size, size));
        var opts = new OnnxExtractorOptions { InputSize = size, Mean = [0.5f], Std = [0.25f], BatchSize = 64 };
        using var fx = new OnnxFeatureExtractor(path, opts);
        using var f = fx.Extract(images);
        Assert.That(f.Shape, Is.EqualTo(new Shape(n, k)));
        var expected = new double[n * k];
        for (int i = 0; i < n; i++)
        {
            var p = Reference(x[(i * size * size)..((i + 1) * size * size)], 1, size, size, 3, size, [0.5f], [0.25f]);
            for (int j = 0; j < k; j++)
                for (int e = 0; e < d; e++) expected[i * k + j] += p[e] * wts[e * k + j];
        }
        Check.Close(f.Span, expected, 1e-5, "features");
    }

    [Test]
    public void Onnx_features_plug_into_the_nearest_neighbour_search()
    {
        var rng = Rand.ForTest();
        var train = Check.ToFloat(Rand.Uniform(rng, 6 * 3 * 5 * 5, -1, 1));
        using var t = Tensor.FromArray(train, new Shape(6, 3, 5, 5));
        using var q = Tensor.FromArray(train.AsSpan(4 * 75, 75), new Shape(1, 3, 5, 5));
        using var fx = new OnnxFeatureExtractor(IdentityModel(7), new OnnxExtractorOptions { InputSize = 7 });
        var r = NearestNeighbours.Search(fx, q, t);
        Assert.That(r.IndicesOf(0)[0], Is.EqualTo(4));
        Assert.That(r.SimilaritiesOf(0)[0], Is.EqualTo(1f).Within(1e-6f));
    }

    [Test]
    public void Errors_name_the_model_file_the_input_and_the_expected_shape()
    {
        var missing = Path.Combine(_dir, "nope.onnx");
        Assert.That(Assert.Throws<FileNotFoundException>(() => new OnnxFeatureExtractor(missing))!.Message, Does.Contain(missing));

        var garbage = Write("garbage.onnx", [1, 2, 3, 4, 5, 6, 7]);
        Assert.That(Assert.Throws<InvalidDataException>(() => new OnnxFeatureExtractor(garbage))!.Message, Does.Contain(garbage));

        var model = IdentityModel(8);
        using var images = Tensor.FromArray(Check.ToFloat(Rand.Uniform(Rand.ForTest(), 2 * 3 * 6 * 6, -1, 1)), new Shape(2, 3, 6, 6));
        using (var fx = new OnnxFeatureExtractor(model, new OnnxExtractorOptions { InputSize = 10 }))
        {
            var e = Assert.Throws<ArgumentException>(() => fx.Extract(images))!;
            Assert.That(e.Message, Does.Contain(model).And.Contain("'pixel_values'").And.Contain("[-1, 3, 8, 8]")
                .And.Contain("[2, 3, 10, 10]").And.Contain("InputSize to 8"));
        }
        using (var fx = new OnnxFeatureExtractor(model, new OnnxExtractorOptions { InputSize = 8 }))
        {
            using var two = Tensor.FromArray(new float[2 * 2 * 6 * 6], new Shape(2, 2, 6, 6));
            Assert.That(Assert.Throws<ArgumentException>(() => fx.Extract(two))!.Message, Does.Contain("2 channel(s)").And.Contain(model));
        }
        using (var fx = new OnnxFeatureExtractor(model, new OnnxExtractorOptions { InputSize = 8, Mean = [0.1f, 0.2f] }))
            Assert.That(Assert.Throws<ArgumentException>(() => fx.Extract(images))!.Message, Does.Contain("Mean has 2 values"));

        var e2 = Assert.Throws<ArgumentException>(() => new OnnxFeatureExtractor(model, new OnnxExtractorOptions { InputName = "image" }))!;
        Assert.That(e2.Message, Does.Contain(model).And.Contain("no input 'image'").And.Contain("'pixel_values'"));
        var e3 = Assert.Throws<ArgumentException>(() => new OnnxFeatureExtractor(model, new OnnxExtractorOptions { OutputName = "pooler_output" }))!;
        Assert.That(e3.Message, Does.Contain("no output 'pooler_output'").And.Contain("'y'"));

        var flat = Write("flat.onnx", Model([new Node("Identity", ["x"], ["y"])], [("x", ["N", 12])], [("y", ["N", 12])]));
        var e4 = Assert.Throws<ArgumentException>(() => new OnnxFeatureExtractor(flat))!;
        Assert.That(e4.Message, Does.Contain(flat).And.Contain("'x'").And.Contain("[N, C, H, W]"));
    }
}
