using AmbientNative.Backends;
using AmbientNative.Tensors;

namespace AmbientNative.Autograd;

public static partial class Ops
{
    /// <summary>
    /// The network input of Ambient Diffusion in one pass (see <see cref="Backends.Cpu.Reference.AmbientFusedRef.Input{T}"/>):
    /// from y, noise [N, C, H, W], σ [N] and Ã [N, Cm, H, W] (Cm = 1 or C), returns Masked = Ã⊙(y + σ·n) (the
    /// preconditioner's skip path) and Input = concat[c_in(σ)·Masked, Ã's first <paramref name="inputMaskChannels"/>
    /// channels] (1 or Cm). Records no backward: every operand is data, so a gradient-requiring operand is an error.
    /// </summary>
    public static (Tensor Masked, Tensor Input) AmbientInput(Tensor y, Tensor noise, Tensor sigma, Tensor mask, int inputMaskChannels, float sigmaData)
    {
        const string op = "AmbientInput";
        var (n, c, h, w) = y.Shape.Nchw($"{op}: y");
        var (mn, mc, mh, mw) = mask.Shape.Nchw($"{op}: mask");
        if (noise.Shape != y.Shape)
            throw new ArgumentException($"{op}: noise {noise.Shape} must have the shape of y {y.Shape}.");
        if (sigma.Shape != new Shape(n))
            throw new ArgumentException($"{op}: sigma {sigma.Shape} must be [{n}], one noise level per image of y {y.Shape}.");
        if (mn != n || mh != h || mw != w || (mc != 1 && mc != c))
            throw new ArgumentException($"{op}: mask {mask.Shape} must be [{n}, 1, {h}, {w}] or [{n}, {c}, {h}, {w}] for y {y.Shape}.");
        if (inputMaskChannels != mc && inputMaskChannels != 1)
            throw new ArgumentException($"{op}: {inputMaskChannels} mask channels requested from mask {mask.Shape}; take all {mc} or 1.");
        foreach (var t in new[] { noise, sigma, mask }) SameDevice(op, y, t);
        if (Tape.IsRecording && (y.RequiresGrad || noise.RequiresGrad || sigma.RequiresGrad || mask.RequiresGrad))
            throw new InvalidOperationException($"{op}: y, noise, sigma and mask are data and get no gradient; detach them.");

        var g = new AmbientGeometry(n, c, mc, inputMaskChannels, h * w);
        var masked = Tape.Own(NewLike(y));
        var input = Tape.Own(New(y, new Shape(n, c + inputMaskChannels, h, w)));
        B(y).AmbientInput(y, noise, sigma, mask, masked, input, g, sigmaData);
        return (masked, input);
    }

    /// <summary>
    /// The ambient loss in one pass: (1/N)·Σᵢ λᵢ·Σ A⊙(D − y)² as a scalar, from D, y [N, C, H, W], A [N, Cm, H, W]
    /// (Cm = 1 or C; a 0/1 mask, so this equals the unfused λ·‖A⊙(D − y)‖²) and λ [N]. Gradient for D only
    /// (y, A and λ are data): gD = (2/N)·λᵢ·A⊙(D − y)·gL, one pass.
    /// </summary>
    public static Tensor AmbientLossFused(Tensor d, Tensor y, Tensor mask, Tensor weight)
    {
        const string op = "AmbientLossFused";
        var (n, c, h, w) = d.Shape.Nchw($"{op}: D");
        var (mn, mc, mh, mw) = mask.Shape.Nchw($"{op}: mask");
        if (y.Shape != d.Shape)
            throw new ArgumentException($"{op}: target {y.Shape} must have the shape of D {d.Shape}.");
        if (mn != n || mh != h || mw != w || (mc != 1 && mc != c))
            throw new ArgumentException($"{op}: mask {mask.Shape} must be [{n}, 1, {h}, {w}] or [{n}, {c}, {h}, {w}] for D {d.Shape}.");
        if (weight.Shape != new Shape(n))
            throw new ArgumentException($"{op}: weight {weight.Shape} must be [{n}], one λ per image of D {d.Shape}.");
        foreach (var t in new[] { y, mask, weight }) SameDevice(op, d, t);
        if (Tape.IsRecording && (y.RequiresGrad || mask.RequiresGrad || weight.RequiresGrad))
            throw new InvalidOperationException($"{op}: the target, mask and weight are data and get no gradient; detach them.");

        var g = new AmbientGeometry(n, c, mc, 0, h * w);
        var loss = New(d, new Shape(Array.Empty<int>()));
        B(d).AmbientLoss(d, y, mask, weight, loss, g);
        return Tape.Record(loss, [d], gl =>
        {
            var gd = NewLike(d);
            B(d).AmbientLossBackward(d, y, mask, weight, gl, gd, g);
            Tape.Accumulate(d, gd);
        });
    }
}
