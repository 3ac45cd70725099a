using AmbientNative.Backends.Cuda;
using AmbientNative.Tests.Testing;

namespace AmbientNative.Tests.Gpu;

/// <summary>
/// FastDivisor's multiply-and-shift division (kernels/common.cuh an_div, the same arithmetic) against integer division
/// for every n the kernels can give it (0 ≤ n &lt; 2³¹): all small divisors, powers of two and their neighbours, and
/// the extremes, at the n where a rounding error would show first (just below and at multiples of d) and at random n.
/// The device side runs in the conv tests, on the emulator and on a GPU.
/// </summary>
public class FastDivisorTests
{
    private static IEnumerable<int> Divisors()
    {
        for (int d = 1; d <= 1100; d++) yield return d;
        for (int k = 11; k <= 30; k++) { yield return (1 << k) - 1; yield return 1 << k; yield return (1 << k) + 1; }
        yield return 1_000_003;
        yield return 65_537 * 3;
        yield return int.MaxValue - 1;
        yield return int.MaxValue;
    }

    [Test]
    public void Divides_exactly_at_multiples_their_neighbours_and_random_n()
    {
        var rng = Rand.ForTest();
        var failures = new List<string>();
        foreach (int d in Divisors())
        {
            var f = FastDivisor.For(d);
            var ns = new List<long> { 0, 1, d - 1L, d, d + 1L, int.MaxValue, int.MaxValue - 1L, int.MaxValue - (long)d };
            for (int i = 0; i < 40; i++)
            {
                long k = rng.NextUInt() % (int.MaxValue / d + 1L); // a random multiple of d, and its neighbours
                ns.AddRange([k * d - 1, k * d, k * d + 1, rng.NextUInt() >> 1]);
            }
            foreach (long n in ns.Where(n => n is >= 0 and <= int.MaxValue))
                if (f.Divide((int)n) != n / d && failures.Count < 10)
                    failures.Add($"{n} / {d}: got {f.Divide((int)n)} (magic {f.Magic}, shift {f.Shift})");
        }
        Assert.That(failures, Is.Empty);
    }

    [TestCase(0)]
    [TestCase(-3)]
    public void A_divisor_below_one_is_refused(int d) =>
        Assert.That(() => FastDivisor.For(d), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain($"{d}"));
}
