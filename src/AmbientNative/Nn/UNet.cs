using AmbientNative.Autograd;
using AmbientNative.Tensors;

namespace AmbientNative.Nn;

/// <summary>
/// EDM's DDPM++ U-Net (SongUNet with the "standard" encoder and decoder, positional embedding), the network F
/// inside the preconditioning. Structure and parameter names follow EDM's state_dict, e.g.
/// "map_layer0.weight", "enc.32x32_conv.weight", "enc.16x16_down.conv0.weight", "dec.8x8_in0.qkv.weight",
/// "dec.32x32_aux_conv.bias", so a PyTorch SongUNet (with the resampling noted on <see cref="UNetBlock"/>) loads them.
/// <code>
/// emb  = SiLU(map_layer1(SiLU(map_layer0(positional(c_noise)))))
/// enc: 3×3 conv, then per level: [down block], BlocksPerLevel blocks   (every output is kept as a skip)
/// dec: per level, lowest first: [in0 (attention), in1] or [up block], BlocksPerLevel + 1 blocks, each
///      taking concat(x, last skip)
/// out  = aux_conv(SiLU(aux_norm(x)))
/// </code>
/// Weights are a pure function of (config, seed). Dropout masks come from <see cref="DropoutRng"/>, whose
/// (Seed, Counter) a checkpoint can store.
/// </summary>
public sealed class UNet : Module, INoiseConditionedNetwork, IStochasticModule
{
    private readonly PositionalEmbedding _mapNoise;
    private readonly Conv2d _encConv;
    private readonly List<UNetBlock> _encBlocks = [];
    private readonly List<(UNetBlock Block, bool TakesSkip)> _decBlocks = [];
    private readonly GroupNorm _auxNorm;
    private readonly Conv2d _auxConv;

    public UNet(UNetConfig config, Device? device = null, ulong seed = 0) : base(device ?? Device.Cpu)
    {
        config.Validate();
        Config = config;
        var root = new Rng(seed);
        var rng = root.Fork(0);
        DropoutRng = root.Fork(1);
        var dev = Device;
        bool gated = config.GatedConvolutions;
        string top = $"{config.Resolution}x{config.Resolution}";

        _mapNoise = new PositionalEmbedding(config.NoiseChannels);
        MapLayer0 = Child("map_layer0", new Linear(dev, config.NoiseChannels, config.EmbeddingChannels, rng));
        MapLayer1 = Child("map_layer1", new Linear(dev, config.EmbeddingChannels, config.EmbeddingChannels, rng));

        var enc = new ModuleDict(dev);
        var dec = new ModuleDict(dev);
        _encConv = enc.Add($"{top}_conv", new Conv2d(dev, config.InChannels, config.BaseChannels, 3, rng, gated: gated));
        int last = config.BaseChannels;
        foreach (var s in Layout(config))
        {
            var block = new UNetBlock(config, s.InChannels, s.OutChannels, s.Resample, s.Attention, dev, rng);
            if (s.Decoder) _decBlocks.Add((dec.Add(s.Name, block), s.TakesSkip));
            else _encBlocks.Add(enc.Add(s.Name, block));
            last = s.OutChannels;
        }
        _auxNorm = dec.Add($"{top}_aux_norm", new GroupNorm(dev, last, UNetConfig.NormEps,
            config.GroupNormMaxGroups, config.GroupNormMinChannelsPerGroup));
        _auxConv = dec.Add($"{top}_aux_conv", new Conv2d(dev, last, config.OutChannels, 3, rng, Init.Zero, gated: gated));
        // Registered last: registering prefixes the names of everything already inside.
        Child("enc", enc);
        Child("dec", dec);
    }

    public UNetConfig Config { get; }
    public int InChannels => Config.InChannels;
    public int OutChannels => Config.OutChannels;
    public int Resolution => Config.Resolution;
    public Linear MapLayer0 { get; }
    public Linear MapLayer1 { get; }
    public IReadOnlyList<UNetBlock> EncoderBlocks => _encBlocks;
    public IReadOnlyList<UNetBlock> DecoderBlocks => _decBlocks.Select(d => d.Block).ToList();

    /// <summary>Source of dropout masks; each training forward advances it. Replace it to restore a saved state.</summary>
    public Rng DropoutRng { get; set; }

    /// <summary>input [N, InChannels, R, R], noise labels c_noise [N] → [N, OutChannels, R, R].</summary>
    public Tensor Forward(Tensor input, Tensor noiseLabels)
    {
        var (n, c, h, w) = input.Shape.Nchw("UNet input");
        if (c != InChannels || h != Resolution || w != Resolution)
            throw new ArgumentException(
                $"UNet: input {input.Shape} must be [N, {InChannels}, {Resolution}, {Resolution}] " +
                $"({Config.ImageChannels} image + {Config.MaskChannels} mask channels).");
        if (noiseLabels.Shape != new Shape(n))
            throw new ArgumentException($"UNet: noise labels {noiseLabels.Shape} must be [{n}], one per image of input {input.Shape}.");

        var emb = _mapNoise.Forward(noiseLabels);
        emb = Ops.Silu(MapLayer0.Forward(emb));
        emb = Ops.Silu(MapLayer1.Forward(emb));

        var x = _encConv.Forward(input);
        var skips = new Stack<Tensor>();
        skips.Push(x);
        foreach (var block in _encBlocks)
        {
            x = block.Forward(x, emb, DropoutRng);
            skips.Push(x);
        }
        foreach (var (block, takesSkip) in _decBlocks)
        {
            if (takesSkip) x = Ops.Concat(1, x, skips.Pop());
            x = block.Forward(x, emb, DropoutRng);
        }
        return _auxConv.Forward(_auxNorm.Forward(x, silu: true));
    }

    /// <summary>One residual block of the layout: its name under "enc." or "dec.", channels and role.</summary>
    public sealed record BlockSpec(string Name, bool Decoder, int InChannels, int OutChannels, Resample Resample,
        bool Attention, bool TakesSkip);

    /// <summary>
    /// The blocks of EDM's SongUNet for <paramref name="config"/>, in order (a pure function, so configs can be
    /// checked before any weight is allocated). Skip channels are tracked as EDM does: every encoder output is
    /// pushed (the first conv's included) and each decoder block, apart from in0/in1/up, pops one.
    /// </summary>
    public static List<BlockSpec> Layout(UNetConfig config)
    {
        var blocks = new List<BlockSpec>();
        var skips = new Stack<int>();
        int b = config.BaseChannels, levels = config.ChannelMultipliers.Count, cout = b;
        skips.Push(cout);
        for (int level = 0; level < levels; level++)
        {
            int res = config.Resolution >> level;
            if (level > 0)
            {
                blocks.Add(new($"{res}x{res}_down", false, cout, cout, Resample.Down, false, false));
                skips.Push(cout);
            }
            for (int i = 0; i < config.BlocksPerLevel; i++)
            {
                int cin = cout;
                cout = b * config.ChannelMultipliers[level];
                blocks.Add(new($"{res}x{res}_block{i}", false, cin, cout, Resample.None, config.AttentionResolutions.Contains(res), false));
                skips.Push(cout);
            }
        }
        for (int level = levels - 1; level >= 0; level--)
        {
            int res = config.Resolution >> level;
            if (level == levels - 1)
            {
                blocks.Add(new($"{res}x{res}_in0", true, cout, cout, Resample.None, true, false));
                blocks.Add(new($"{res}x{res}_in1", true, cout, cout, Resample.None, false, false));
            }
            else blocks.Add(new($"{res}x{res}_up", true, cout, cout, Resample.Up, false, false));
            for (int i = 0; i <= config.BlocksPerLevel; i++)
            {
                int cin = cout + skips.Pop();
                cout = b * config.ChannelMultipliers[level];
                bool attention = i == config.BlocksPerLevel && config.AttentionResolutions.Contains(res);
                blocks.Add(new($"{res}x{res}_block{i}", true, cin, cout, Resample.None, attention, true));
            }
        }
        return blocks;
    }
}
