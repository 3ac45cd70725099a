using AmbientNative.Tensors;

namespace AmbientNative.Tests.Testing;

/// <summary>Fresh random test data: never zeros, different per test (seeded by the test name for reproducibility).</summary>
public static class Rand
{
    public static Rng For(string name, int salt = 0) =>
        new((ulong)StableHash(name) * 0x9E3779B97F4A7C15UL + (ulong)salt);

    public static Rng ForTest(int salt = 0) => For(TestContext.CurrentContext.Test.FullName, salt);

    public static double[] Normal(Rng rng, int n, double std = 1)
    {
        var a = new double[n];
        rng.FillNormal(a, 0, std);
        return a;
    }

    public static double[] Uniform(Rng rng, int n, double lo, double hi)
    {
        var a = new double[n];
        rng.FillUniform(a, lo, hi);
        return a;
    }

    /// <summary>A float array filled with NaN: written before a kernel runs so unwritten outputs show.</summary>
    public static float[] Poison(int n)
    {
        var a = new float[n];
        Array.Fill(a, float.NaN);
        return a;
    }

    private static int StableHash(string s)
    {
        unchecked
        {
            int h = (int)2166136261;
            foreach (char c in s) h = (h ^ c) * 16777619;
            return h;
        }
    }
}
