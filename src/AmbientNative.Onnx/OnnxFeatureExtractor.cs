using AmbientNative.Evaluation;
using AmbientNative.Tensors;
using Microsoft.ML.OnnxRuntime;

namespace AmbientNative.Onnx;

/// <summary>
/// Features from a user-supplied ONNX image model (the papers use DINOv2 embeddings): images are preprocessed per
/// <see cref="OnnxExtractorOptions"/>, run in batches on ONNX Runtime's CPU provider, and the chosen output is
/// flattened per image. The model's input must be a float tensor [N, C, H, W]; a fixed N is honoured by padding the
/// last batch. Errors name the model file, the input or output and the shapes involved.
/// </summary>
public sealed class OnnxFeatureExtractor : IFeatureExtractor, IDisposable
{
    private readonly InferenceSession _session;
    private readonly OnnxExtractorOptions _options;
    private readonly int[] _inputDims; // N, C, H, W; −1 where the model leaves a dimension free

    public OnnxFeatureExtractor(string modelPath, OnnxExtractorOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        _options = options ?? OnnxExtractorOptions.DinoV2;
        _options.Validate();
        ModelPath = modelPath;
        if (!File.Exists(modelPath))
            throw new FileNotFoundException($"ONNX model file not found: {modelPath}", modelPath);
        try
        {
            _session = new InferenceSession(modelPath);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"{modelPath}: ONNX Runtime cannot load this model: {e.Message}", e);
        }
        try
        {
            InputName = Pick(_session.InputNames, _options.InputName, "input");
            OutputName = Pick(_session.OutputNames, _options.OutputName, "output");
            var input = _session.InputMetadata[InputName];
            if (!input.IsTensor || input.ElementType != typeof(float) || input.Dimensions.Length != 4)
                throw new ArgumentException($"{modelPath}: input '{InputName}' is {Describe(input)}; the extractor feeds a float tensor [N, C, H, W].");
            _inputDims = input.Dimensions;
            var output = _session.OutputMetadata[OutputName];
            if (!output.IsTensor || output.ElementType != typeof(float))
                throw new ArgumentException($"{modelPath}: output '{OutputName}' is {Describe(output)}; features must be a float tensor [N, ...].");
        }
        catch
        {
            _session.Dispose();
            throw;
        }
    }

    public string ModelPath { get; }
    public string InputName { get; }
    public string OutputName { get; }
    public string Name => $"onnx {Path.GetFileName(ModelPath)}:{OutputName}";

    public Tensor Extract(Tensor images, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        var (n, c, h, w) = images.Shape.Nchw("ONNX extractor images");
        int size = _options.InputSize ?? h;
        if (_options.InputSize == null && h != w)
            throw new ArgumentException($"ONNX extractor ({ModelPath}): images are {h}×{w}; set InputSize to feed a square input.");
        int outC = _inputDims[1] > 0 ? _inputDims[1] : c;
        int batch = _inputDims[0] > 0 ? _inputDims[0] : Math.Min(_options.BatchSize, n);
        long[] feed = [batch, outC, size, size];
        CheckInputShape(feed, c);
        CheckNormalisation(outC);

        ArraySegment<float> pixels = images.Storage is CpuStorage cs ? cs.Segment : images.ToArray();
        int imageSize = c * h * w, inSize = outC * size * size;
        var input = new float[batch * inSize];
        float[]? features = null;
        int d = 0;
        for (int b0 = 0; b0 < n; b0 += batch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int bn = Math.Min(batch, n - b0);
            for (int j = 0; j < bn; j++)
                ImagePreprocessing.Preprocess(pixels.AsSpan((b0 + j) * imageSize, imageSize), c, h, w,
                    input.AsSpan(j * inSize, inSize), outC, size, _options.Mean, _options.Std);
            input.AsSpan(bn * inSize).Clear(); // padding of a fixed-size last batch; its outputs are dropped

            using var value = OrtValue.CreateTensorValueFromMemory(input, feed);
            using var outputs = RunModel(value);
            var result = outputs[0];
            var shape = result.GetTensorTypeAndShape().Shape;
            if (shape.Length < 1 || shape[0] != batch)
                throw new InvalidDataException($"{ModelPath}: output '{OutputName}' has shape [{string.Join(", ", shape)}] for a batch of {batch}; expected [{batch}, ...].");
            var data = result.GetTensorDataAsSpan<float>();
            int dHere = data.Length / batch;
            if (features == null)
            {
                d = dHere;
                features = new float[(long)n * d <= Array.MaxLength ? n * d
                    : throw new InvalidDataException($"{ModelPath}: {n} feature vectors of {d} values exceed one array.")];
            }
            else if (dHere != d)
                throw new InvalidDataException($"{ModelPath}: output '{OutputName}' changed size between batches ({d} then {dHere} values per image).");
            data[..(bn * d)].CopyTo(features.AsSpan(b0 * d));
        }
        return Tensor.FromArray(features!, new Shape(n, d));
    }

    private IDisposableReadOnlyCollection<OrtValue> RunModel(OrtValue input)
    {
        try
        {
            using var run = new RunOptions();
            return _session.Run(run, [InputName], [input], [OutputName]);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidOperationException($"{ModelPath}: running the model failed (input '{InputName}', output '{OutputName}'): {e.Message}", e);
        }
    }

    private void CheckInputShape(long[] feed, int imageChannels)
    {
        for (int i = 1; i < 4; i++)
        {
            if (_inputDims[i] <= 0 || _inputDims[i] == feed[i]) continue;
            string hint = i == 1
                ? $"the images have {imageChannels} channel(s)"
                : $"set InputSize to {_inputDims[i]}";
            throw new ArgumentException($"{ModelPath}: input '{InputName}' expects [{string.Join(", ", _inputDims)}] (N, C, H, W; −1 = any) but preprocessing gives [{string.Join(", ", feed)}]: {hint}.");
        }
        if (feed[1] != imageChannels && imageChannels != 1)
            throw new ArgumentException($"{ModelPath}: input '{InputName}' expects {feed[1]} channel(s) [{string.Join(", ", _inputDims)}]; the images have {imageChannels} channel(s) (only grey is replicated).");
    }

    private void CheckNormalisation(int channels)
    {
        foreach (var (what, v) in new[] { ("Mean", _options.Mean), ("Std", _options.Std) })
            if (v.Length != 1 && v.Length != channels)
                throw new ArgumentException($"ONNX extractor ({ModelPath}): {what} has {v.Length} values for an input '{InputName}' of {channels} channel(s).");
    }

    /// <summary>The named node, or the only input / the first output (in the model's order).</summary>
    private string Pick(IReadOnlyList<string> nodes, string? wanted, string kind)
    {
        string names = string.Join(", ", nodes.Select(k => $"'{k}'"));
        if (wanted != null)
            return nodes.Contains(wanted) ? wanted
                : throw new ArgumentException($"{ModelPath}: the model has no {kind} '{wanted}' (its {kind}s: {names}).");
        if (kind == "input" && nodes.Count != 1)
            throw new ArgumentException($"{ModelPath}: the model has {nodes.Count} inputs ({names}); set InputName to the image input.");
        return nodes[0];
    }

    private static string Describe(NodeMetadata m) =>
        m.IsTensor ? $"a {m.ElementType.Name} tensor [{string.Join(", ", m.Dimensions)}]" : $"a {m.OnnxValueType} (not a tensor)";

    public void Dispose() => _session.Dispose();
}
