using AmbientNative.Tensors;

namespace AmbientNative.Diffusion;

/// <summary>
/// One batch as the user's dataset holds it: the observation y (A⊙x0 for erased pixels, x_tn for Gaussian noise,
/// x0 for clean data), the masks A and Ã when the corruption erases pixels, and the clean images only when they
/// exist (diagnostic losses; never used by an ambient objective's gradient). All [N, C, H, W] on one device;
/// masks may have 1 channel (shared) or C.
/// </summary>
public sealed record TrainingBatch(Tensor Observed, Tensor? MaskA = null, Tensor? MaskATilde = null, Tensor? Clean = null)
{
    public int Size => Observed.Shape[0];
}

/// <summary>The scalar loss to back-propagate (owned by the current tape) and named terms to log.</summary>
public sealed record ObjectiveResult(Tensor Loss, IReadOnlyDictionary<string, double> Terms);

/// <summary>
/// A training objective (EDM, Ambient, Tweedie): draws σ and noise from <paramref name="rng"/>, runs the
/// preconditioned network on the current tape and returns the loss. The trainer knows nothing else of the method.
/// </summary>
public interface ITrainingObjective
{
    ObjectiveResult Compute(TrainingBatch batch, Rng rng);
}
