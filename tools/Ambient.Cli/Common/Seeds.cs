using AmbientNative.Tensors;

namespace Ambient.Cli.Common;

/// <summary>
/// One --seed feeds several consumers; each gets its own stream so that none shares draws with another (the U-Net's
/// init, the trainer and the corruption all fork their root generator by small integers, so feeding them the same
/// seed would correlate image 0's mask with the first weights).
/// </summary>
internal static class Seeds
{
    public const ulong Weights = 101, Corruption = 102, Trainer = 103, SampleNoise = 104, SampleMasks = 105;

    public static ulong For(ulong seed, ulong stream) => new Rng(seed).Fork(stream).Seed;
}
