using AmbientNative.Tensors;

namespace AmbientNative.Evaluation;

/// <summary>
/// Maps images to feature vectors in which cosine similarity means "looks alike": the space nearest-neighbour
/// search runs in. Pixel space (<see cref="PixelFeatures"/>) is the default; the papers use DINOv2 embeddings
/// (an ONNX extractor lives in AmbientNative.Onnx so the core carries no native runtime).
/// </summary>
public interface IFeatureExtractor
{
    /// <summary>Recorded in reports, e.g. "pixels (centred)" or "onnx dinov2.onnx:pooler_output".</summary>
    string Name { get; }

    /// <summary>
    /// Images [N, C, H, W] with values in [−1, 1] (any device) → features [N, D], a new CPU tensor the caller
    /// disposes. Rows need not be normalised: the search L2-normalises them.
    /// </summary>
    Tensor Extract(Tensor images, CancellationToken cancellationToken = default);
}
