using AmbientNative.Autograd;
using AmbientNative.Diffusion;
using AmbientNative.Nn;
using AmbientNative.Tensors;
using AmbientNative.Training;

namespace AmbientNative.Tests.Training;

/// <summary>
/// A stand-in for the U-Net: conv 3×3 → + noise embedding → SiLU → dropout → conv 3×3. Small, but it has every kind
/// of state a checkpoint must carry (weights, a noise input, a dropout generator).
/// </summary>
internal sealed class TinyConvNet : Module, INoiseConditionedNetwork, IStochasticModule
{
    private readonly Parameter _w1, _b1, _emb, _w2, _b2;
    private readonly float _dropout;

    public TinyConvNet(Device device, int channels, int hidden, ulong seed, float dropout = 0.1f) : base(device)
    {
        InChannels = OutChannels = channels;
        _dropout = dropout;
        var rng = new Rng(seed);
        _w1 = Init(Param("conv1.weight", new Shape(hidden, channels, 3, 3)), rng, 0.3f);
        _b1 = Init(Param("conv1.bias", new Shape(hidden)), rng, 0.1f);
        _emb = Init(Param("emb.weight", new Shape(hidden, 1)), rng, 0.5f);
        _w2 = Init(Param("conv2.weight", new Shape(channels, hidden, 3, 3)), rng, 0.1f);
        _b2 = Init(Param("conv2.bias", new Shape(channels)), rng, 0.1f);
        DropoutRng = new Rng(seed).Fork(99);
    }

    public int InChannels { get; }
    public int OutChannels { get; }
    public int Resolution => 0;
    public Rng DropoutRng { get; set; }

    public Tensor Forward(Tensor input, Tensor noiseLabels)
    {
        int n = input.Shape[0], hidden = _w1.Shape[0];
        var h = Ops_.Conv2d(input, _w1, _b1, padding: 1);
        var e = Ops_.Reshape(Ops_.Linear(Ops_.Reshape(noiseLabels, n, 1), _emb), n, hidden, 1, 1);
        h = Ops_.Dropout(Ops_.Silu(Ops_.Add(h, e)), _dropout, DropoutRng, Training);
        return Ops_.Conv2d(h, _w2, _b2, padding: 1);
    }

    private static Parameter Init(Parameter p, Rng rng, float std)
    {
        var v = new float[p.Numel];
        rng.FillNormal(v, 0f, std);
        p.Storage.CopyFrom(v);
        return p;
    }
}

/// <summary>
/// A stand-in objective: x_t = x0 + σ·n with ln σ ~ N(−1.2, 1.2) per image, prediction F(x_t / √(σ² + ¼), ln σ / 4),
/// loss = mean (F − x0)². Reports "loss" and "mse_observed" (the same over pixels where MaskA = 1, when there is one).
/// <see cref="PoisonAtCall"/> makes one call's loss NaN, <see cref="PoisonGradAtCall"/> one call's gradient.
/// </summary>
internal sealed class MseObjective(INoiseConditionedNetwork net) : ITrainingObjective
{
    public int Calls { get; private set; }
    public int PoisonAtCall { get; set; } = -1;
    public int PoisonGradAtCall { get; set; } = -1;

    public ObjectiveResult Compute(TrainingBatch batch, Rng rng)
    {
        Calls++;
        var x0 = batch.Observed;
        var (n, c, h, w) = x0.Shape.Nchw("batch");
        var sigma = new float[n];
        var cin = new float[n];
        var cnoise = new float[n];
        for (int i = 0; i < n; i++)
        {
            double s = Edm.SampleTrainingSigma(rng);
            sigma[i] = (float)s; cin[i] = (float)Edm.CIn(s); cnoise[i] = (float)Edm.CNoise(s);
        }
        // Host-made tensors that backward closures may read belong to the tape, like op outputs.
        Tensor Owned(Tensor t) => Tape.Own(t);
        var noise = Owned(Tensor.Randn(x0.Shape, rng, x0.Device));
        var xt = Ops_.Add(x0, Ops_.Mul(noise, Owned(Tensor.FromArray(sigma, new Shape(n, 1, 1, 1), x0.Device))));
        var input = Ops_.Mul(xt, Owned(Tensor.FromArray(cin, new Shape(n, 1, 1, 1), x0.Device)));
        var f = net.Forward(input, Owned(Tensor.FromArray(cnoise, new Shape(n), x0.Device)));
        var err = Ops_.Square(Ops_.Sub(f, x0));
        var loss = Ops_.Mean(err);
        if (Calls == PoisonAtCall) loss = Ops_.MulScalar(loss, float.NaN);
        // sqrt(0·loss) is 0 in the forward, but its gradient is 0 · 1/(2·0) = NaN.
        if (Calls == PoisonGradAtCall) loss = Ops_.Add(loss, Ops_.Sqrt(Ops_.MulScalar(loss, 0f)));
        double mseObserved = double.NaN;
        if (batch.MaskA is { } a)
        {
            using var _ = NoGrad.Scope();
            mseObserved = Ops_.Sum(Ops_.Mul(err, a)).Item() / (Ops_.Sum(a).Item() * c);
        }
        double value = loss.Item();
        return new ObjectiveResult(loss, new Dictionary<string, double> { ["loss"] = value, ["mse_observed"] = batch.MaskA != null ? mseObserved : value });
    }
}

/// <summary>Wraps a batch source and records what the trainer asked for.</summary>
internal sealed class RecordingSource(IBatchSource inner) : IBatchSource
{
    public List<(int[] Indices, bool[] Flips)> Calls { get; } = [];
    public int Count => inner.Count;
    public int Channels => inner.Channels;
    public int Height => inner.Height;
    public int Width => inner.Width;

    public TrainingBatch Load(ReadOnlySpan<int> indices, ReadOnlySpan<bool> flip, Device device)
    {
        Calls.Add((indices.ToArray(), flip.ToArray()));
        return inner.Load(indices, flip, device);
    }
}

/// <summary>Calls back synchronously (System.Progress posts to the thread pool, too late to cancel a given step).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
