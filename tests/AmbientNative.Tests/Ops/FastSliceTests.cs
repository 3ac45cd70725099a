using AmbientNative.Backends;
using AmbientNative.Backends.Cpu.Reference;
using AmbientNative.Tensors;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Ops;

/// <summary>
/// Every op the fast CPU backend overrides (and the fused attention it inherits), with every tensor argument (inputs
/// and outputs) a slice of one NaN-poisoned arena at an odd offset, as parameters and gradients will be slices of flat
/// arenas: on each CPU device the results are bit-identical to the same op on plain (offset 0) tensors with the same
/// values, and every arena element outside the slices is still NaN (nothing written past a slice's ends; a read past
/// them brings NaN or another tensor's values into the results). Sizes reach the SIMD bodies, their scalar tails and
/// the 64K-element parallel paths.
/// </summary>
public class FastSliceTests
{
    /// <summary>A tensor argument: its shape, and whether its values must be positive (Adam's v).</summary>
    public sealed record Arg(Shape Shape, bool Positive = false)
    {
        public static implicit operator Arg(int[] dims) => new(new Shape(dims));
        public static implicit operator Arg(Shape shape) => new(shape);
    }

    /// <summary>An op (or a forward + backward pair) over its tensor arguments, in the order of <paramref name="Args"/>.</summary>
    public sealed record Case(string Name, Arg[] Args, Action<IBackend, Tensor[]> Op)
    {
        public override string ToString() => Name;
    }

    private static Arg S(params int[] dims) => dims;

    [TestCaseSource(nameof(Cases))]
    public void Op_on_slices_matches_plain_tensors_and_writes_nothing_outside(Case c)
    {
        foreach (var device in CpuDevices.All)
            Run(device, c, Rand.ForTest());
    }

    public static IEnumerable<Case> Cases()
    {
        // Suffix broadcasts (the fast path), then one middle-axis broadcast (the reference path it falls back to).
        foreach (var op in Enum.GetValues<BinaryOp>())
            foreach (var (a, b) in new (int[], int[])[]
            {
                ([4, 64, 16, 17], [4, 64, 1, 1]),   // 69 632 elements: parallel chunks of 272
                ([4, 64, 16, 17], [4, 64, 16, 17]), // same shape: 8192-element chunks, a ragged last one
                ([3, 5, 33, 1], [3, 1, 1, 1]),      // per-sample scalar over 165-element rows (a SIMD tail)
                ([2, 3, 7, 9], [1]),                // one-element operand
                ([1, 1, 1], [2, 8, 100]),           // the broadcasting operand on the left
                ([2, 3, 5, 7], [2, 1, 5, 7]),       // not a suffix broadcast
            })
            {
                var y = Broadcast.ResultShape(a, b, "test");
                yield return new($"Binary {op} {new Shape(a)} {new Shape(b)} + backward", [a, b, y, y, a, b], (k, t) =>
                {
                    k.Binary(op, t[0], t[1], t[2]);
                    k.BinaryBackward(op, t[0], t[1], t[3], t[4], t[5]);
                });
            }

        foreach (var (rows, n) in new[] { (3, 33), (17, 4099) }) // a tail per row; 69 683 elements: parallel rows
            yield return new($"Softmax [{rows}, {n}] + backward", [S(rows, n), S(rows, n), S(rows, n), S(rows, n)], (k, t) =>
            {
                k.Softmax(t[0], t[1]);
                k.SoftmaxBackward(t[1], t[2], t[3]);
            });

        foreach (int n in new[] { 37, 70_001 })
        {
            yield return new($"Affine and AddInPlace [{n}]", [S(n), S(n), S(n)], (k, t) =>
            {
                k.Affine(t[0], 0.37f, -1.3f, t[1]);
                k.AddInPlace(t[2], t[0], -0.71f);
            });
            var h = new AdamStepParams(Lr: 0.03, Beta1: 0.85, Beta2: 0.99, Eps: 1e-3, WeightDecay: 0.2, Step: 7);
            yield return new($"AdamStep and EmaUpdate [{n}]", [S(n), S(n), S(n), S(n) with { Positive = true }, S(n)], (k, t) =>
            {
                k.AdamStep(t[0], t[1], t[2], t[3], h);
                k.EmaUpdate(t[4], t[0], 0.993);
            });
            yield return new($"Dropout [{n}]", [S(n), S(n)], (k, t) => k.Dropout(t[0], t[1], 0.13f, 42, (1UL << 32) - 5));
            yield return new($"FillNormal [{n}]", [S(n)], (k, t) => k.FillNormal(t[0], 0xABCDEF, 3));
        }

        foreach (var (n, c, h, w) in new[] { (2, 3, 5, 7), (4, 64, 16, 16) }) // 262 144 output elements: parallel rows
        {
            Arg x = S(n, c, h, w), y = S(n, c, 2 * h, 2 * w);
            yield return new($"Upsample2x {x.Shape} + backward", [x, y, y, x], (k, t) =>
            {
                k.Upsample2x(t[0], t[1]);
                k.Upsample2xBackward(t[2], t[3]);
            });
        }

        foreach (var a in new GroupNormArgs[] { new(3, 12, 37, 4, 1e-5f), new(2, 32, 256, 8, 1e-6f) })
            foreach (bool silu in new[] { false, true })
                foreach (bool affine in new[] { false, true })
                    yield return GroupNorm(a with { Silu = silu }, affine, gx: true, paramGrads: affine);
        yield return GroupNorm(new(3, 12, 37, 4, 1e-5f, Silu: true), affine: true, gx: false, paramGrads: true);
        yield return GroupNorm(new(3, 12, 37, 4, 1e-5f, Silu: true), affine: true, gx: true, paramGrads: false);

        foreach (var g in new Conv2dGeometry[] { new(2, 16, 16, 16, 32, 3, 1, 1), new(2, 3, 9, 11, 5, 3, 2, 0) })
            foreach (bool bias in new[] { true, false })
            {
                int[] x = [g.N, g.Cin, g.H, g.W], w = [g.Cout, g.Cin, g.K, g.K], y = [g.N, g.Cout, g.OutH, g.OutW];
                Arg[] args = bias ? [x, w, y, y, x, w, S(g.Cout), S(g.Cout)] : [x, w, y, y, x, w];
                yield return new($"Conv2d {new Shape(x)} * {new Shape(w)} stride {g.Stride} pad {g.Pad} bias {bias} + backward", args, (k, t) =>
                {
                    k.Conv2dForward(t[0], t[1], bias ? t[6] : null, t[2], g);
                    k.Conv2dBackwardData(t[3], t[1], t[4], g);
                    k.Conv2dBackwardWeight(t[0], t[3], t[5], bias ? t[7] : null, g);
                });
            }

        foreach (var g in new GemmArgs[]
        {
            new(2, 33, 17, 40),
            new(1, 96, 96, 96, TransA: true, Alpha: 0.5f, Beta: 0.75f), // reads c
            new(3, 9, 31, 5, TransB: true),
            new(1, 20, 70, 13, TransA: true, TransB: true, Beta: -1f),
        })
            yield return new($"{g}", [S(g.ASize), S(g.BSize), S(g.CSize)], (k, t) => k.Gemm(t[0], t[1], t[2], g));

        foreach (var g in new AttentionGeometry[] { new(2, 8, 37) })
        {
            int[] qkv = [g.N, g.C, 3, g.Tokens], o = [g.N, g.C, g.Tokens], lse = [g.N, g.Tokens];
            yield return new($"Attention [{g.N}, {g.C}, 3, {g.Tokens}] + backward", [qkv, o, lse, o, qkv], (k, t) =>
            {
                k.AttentionForward(t[0], t[1], t[2], g);
                k.AttentionBackward(t[0], t[1], t[2], t[3], t[4], g);
            });
        }
    }

    /// <summary>Forward then backward; absent weights, bias and gradients are passed as null.</summary>
    private static Case GroupNorm(GroupNormArgs a, bool affine, bool gx, bool paramGrads)
    {
        int[] x = [a.N, a.C, a.HW], c = [a.C], stats = [a.N, a.Groups];
        var args = new List<Arg> { x, x, stats, stats, x };                  // x, y, mean, rstd, gy
        int w = Add(affine, c), b = Add(affine, c), gxi = Add(gx, x), gw = Add(paramGrads, c), gb = Add(paramGrads, c);
        string name = $"GroupNorm {new Shape(x)} groups {a.Groups} silu {a.Silu} affine {affine} gx {gx} param grads {paramGrads}";
        return new(name, [.. args], (k, t) =>
        {
            Tensor? T(int i) => i < 0 ? null : t[i];
            k.GroupNormForward(t[0], null, T(w), T(b), t[1], t[2], t[3], a);
            k.GroupNormBackward(t[0], null, T(w), T(b), t[2], t[3], t[4], T(gxi), null, T(gw), T(gb), a);
        });

        int Add(bool present, int[] dims)
        {
            if (!present) return -1;
            args.Add(dims);
            return args.Count - 1;
        }
    }

    /// <summary>
    /// The op on plain tensors, then on slices of an arena (offsets odd, NaN between and around them) holding the same
    /// values; compares every argument bit for bit and checks the poison.
    /// </summary>
    private static void Run(Device device, Case c, Rng rng)
    {
        var values = c.Args.Select(a => Check.ToFloat(a.Positive
            ? Rand.Uniform(rng, a.Shape.Numel, 1e-4, 0.2)
            : Rand.Normal(rng, a.Shape.Numel))).ToArray();

        var plain = c.Args.Select((a, i) => Tensor.FromArray(values[i], a.Shape, device)).ToArray();
        c.Op(device.Backend, plain);

        var offsets = new int[c.Args.Length];
        int end = 0;
        for (int i = 0; i < offsets.Length; i++)
        {
            offsets[i] = (end + 13) | 1; // odd: never aligned to a SIMD vector, and 13+ poisoned elements before it
            end = offsets[i] + c.Args[i].Shape.Numel;
        }
        using var arena = Tensor.FromArray(Rand.Poison(end + 13), new Shape(end + 13), device);
        var slices = c.Args.Select((a, i) => new Tensor(a.Shape, arena.Storage.Slice(offsets[i], a.Shape.Numel))).ToArray();
        for (int i = 0; i < slices.Length; i++) slices[i].Storage.CopyFrom(values[i]);
        c.Op(device.Backend, slices);

        for (int i = 0; i < slices.Length; i++)
        {
            var expected = plain[i].ToArray();
            Assert.That(expected.All(float.IsFinite), Is.True, $"{c.Name} on {device}: argument {i} of the plain run is not finite");
            Assert.That(Bits(slices[i].ToArray()), Is.EqualTo(Bits(expected)),
                $"{c.Name} on {device}: argument {i} {c.Args[i].Shape} as a slice at {offsets[i]} (float bits)");
        }
        var all = arena.ToArray();
        for (int j = 0, i = 0; j < all.Length; j++)
        {
            if (i < offsets.Length && j == offsets[i]) { j += c.Args[i++].Shape.Numel - 1; continue; }
            if (!float.IsNaN(all[j]))
                Assert.Fail($"{c.Name} on {device}: arena element {j}, outside every slice (offsets {string.Join(", ", offsets)}), was written: {all[j]}");
        }
        foreach (var t in plain.Concat(slices)) t.Dispose();
    }

    private static int[] Bits(float[] a) => a.Select(BitConverter.SingleToInt32Bits).ToArray();
}
