namespace AmbientNative.Tests.Testing;

/// <summary>Relative-error comparisons in float64: ‖out − ref‖ / ‖ref‖.</summary>
public static class Check
{
    public static double RelErr(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), "length");
        double num = 0, den = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double d = actual[i] - expected[i];
            num += d * d; den += expected[i] * expected[i];
        }
        return Math.Sqrt(num) / Math.Max(Math.Sqrt(den), 1e-300);
    }

    public static double RelErr(ReadOnlySpan<double> actual, ReadOnlySpan<double> expected)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), "length");
        double num = 0, den = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double d = actual[i] - expected[i];
            num += d * d; den += expected[i] * expected[i];
        }
        return Math.Sqrt(num) / Math.Max(Math.Sqrt(den), 1e-300);
    }

    public static double RelErr(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
        => RelErr(actual, ToDouble(expected));

    /// <summary>Asserts relative error below <paramref name="tol"/>, and that no element is NaN (poison shows as NaN).</summary>
    public static void Close(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, double tol, string what)
    {
        for (int i = 0; i < actual.Length; i++)
            if (!float.IsFinite(actual[i]))
                Assert.Fail($"{what}: element {i} is {actual[i]} (unwritten or overflowed).");
        double e = RelErr(actual, expected);
        Assert.That(e, Is.LessThan(tol), $"{what}: relative error {e:E3} ≥ {tol:E1}");
    }

    public static void Close(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double tol, string what)
        => Close(actual, ToDouble(expected), tol, what);

    public static void Close(ReadOnlySpan<double> actual, ReadOnlySpan<double> expected, double tol, string what)
    {
        double e = RelErr(actual, expected);
        Assert.That(e, Is.LessThan(tol), $"{what}: relative error {e:E3} ≥ {tol:E1}");
    }

    public static double[] ToDouble(ReadOnlySpan<float> a)
    {
        var d = new double[a.Length];
        for (int i = 0; i < a.Length; i++) d[i] = a[i];
        return d;
    }

    public static float[] ToFloat(ReadOnlySpan<double> a)
    {
        var f = new float[a.Length];
        for (int i = 0; i < a.Length; i++) f[i] = (float)a[i];
        return f;
    }
}
