namespace AmbientNative.Tensors;

/// <summary>
/// Counter-based generator (Philox-4x32-10): the stream is a pure function of (seed, counter), so its whole
/// state is two numbers that a checkpoint can store, and a GPU kernel can reproduce any element.
/// </summary>
public sealed class Rng
{
    // Philox-4x32 multipliers and Weyl key increments (internal: the SIMD dropout mask reproduces Block with them).
    internal const uint M0 = 0xD2511F53, M1 = 0xCD9E8D57, W0 = 0x9E3779B9, W1 = 0xBB67AE85;
    private readonly uint[] _buffer = new uint[4];
    private int _bufferPos = 4;

    public Rng(ulong seed, ulong counter = 0) { Seed = seed; Counter = counter; }

    public ulong Seed { get; }
    /// <summary>Number of 128-bit blocks consumed so far. Together with <see cref="Seed"/> it is the state.</summary>
    public ulong Counter { get; private set; }

    /// <summary>Restores a state saved from <see cref="Seed"/> and <see cref="Counter"/>; buffered values are dropped.</summary>
    public static Rng FromState(ulong seed, ulong counter) => new(seed, counter);

    /// <summary>An independent child stream, e.g. one per image index.</summary>
    public Rng Fork(ulong stream) => new(Mix(Seed ^ Mix(stream + 0x9E3779B97F4A7C15UL)));

    /// <summary>
    /// Skips <paramref name="blocks"/> blocks (and drops buffered values): for ops that read blocks
    /// (Seed, Counter … Counter + blocks − 1) directly by index, e.g. a dropout mask computed per element on a device.
    /// </summary>
    public void Advance(ulong blocks)
    {
        Counter += blocks;
        _bufferPos = 4;
    }

    public static void Block(ulong key, ulong counter, Span<uint> output)
    {
        uint c0 = (uint)counter, c1 = (uint)(counter >> 32), c2 = 0, c3 = 0;
        uint k0 = (uint)key, k1 = (uint)(key >> 32);
        for (int r = 0; r < 10; r++)
        {
            ulong p0 = (ulong)M0 * c0, p1 = (ulong)M1 * c2;
            uint n0 = (uint)(p1 >> 32) ^ c1 ^ k0, n1 = (uint)p1, n2 = (uint)(p0 >> 32) ^ c3 ^ k1, n3 = (uint)p0;
            c0 = n0; c1 = n1; c2 = n2; c3 = n3;
            k0 += W0; k1 += W1;
        }
        output[0] = c0; output[1] = c1; output[2] = c2; output[3] = c3;
    }

    public uint NextUInt()
    {
        if (_bufferPos == 4)
        {
            Block(Seed, Counter++, _buffer);
            _bufferPos = 0;
        }
        return _buffer[_bufferPos++];
    }

    /// <summary>Uniform in [0, 1) with 24 random bits.</summary>
    public float NextFloat() => (NextUInt() >> 8) * (1f / 16777216f);

    /// <summary>Uniform in (0, 1], safe for log.</summary>
    public double NextDoubleOpen() => ((NextUInt() >> 8) + 1.0) / 16777216.0;

    /// <summary>Uniform integer in [0, n).</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n));
        return (int)(((ulong)NextUInt() * (ulong)n) >> 32);
    }

    /// <summary>Standard normal by Box–Muller.</summary>
    public double NextNormal()
    {
        uint w1 = NextUInt(), w2 = NextUInt();
        return BoxMuller(w1, w2);
    }

    /// <summary>
    /// Box–Muller of two stream words, each as u = ((w &gt;&gt; 8) + 1)/2²⁴ ∈ (0, 1] (<see cref="NextDoubleOpen"/>): the one
    /// formula behind <see cref="NextNormal"/> and the backends' noise draw (Backends.Cpu.Reference.NormalRef).
    /// </summary>
    internal static double BoxMuller(uint w1, uint w2)
    {
        double u1 = ((w1 >> 8) + 1.0) / 16777216.0, u2 = ((w2 >> 8) + 1.0) / 16777216.0;
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    public void FillNormal(Span<float> dst, float mean = 0f, float std = 1f)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = mean + std * (float)NextNormal();
    }

    public void FillNormal(Span<double> dst, double mean = 0, double std = 1)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = mean + std * NextNormal();
    }

    public void FillUniform(Span<float> dst, float lo = 0f, float hi = 1f)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = lo + (hi - lo) * NextFloat();
    }

    public void FillUniform(Span<double> dst, double lo = 0, double hi = 1)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = lo + (hi - lo) * NextFloat();
    }

    /// <summary>A random permutation of 0..n-1 (Fisher–Yates).</summary>
    public int[] Permutation(int n)
    {
        var p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) { int j = NextInt(i + 1); (p[i], p[j]) = (p[j], p[i]); }
        return p;
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
