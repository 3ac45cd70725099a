namespace AmbientNative.Tests.Testing;

/// <summary>
/// Central finite differences in float64. For an op y = f(x₀, x₁, …) and a random upstream gradient g, the
/// scalar L = Σ g·f(x) has ∂L/∂xₖ = backward(g)ₖ; we compare every input gradient with
/// (L(x + h·eᵢ) − L(x − h·eᵢ)) / 2h. Inputs are modified in place and restored.
/// </summary>
public static class GradCheck
{
    /// <param name="forward">Computes the op's output from the inputs.</param>
    /// <param name="backward">Computes the gradient of each input from the upstream gradient (null for inputs without one).</param>
    /// <param name="inputs">The inputs (float64), perturbed in place during the check.</param>
    /// <param name="maxProbes">At most this many coordinates per input are probed (spread evenly).</param>
    public static void Run(Func<double[][], double[]> forward, Func<double[][], double[], double[]?[]> backward,
        double[][] inputs, double tol = 1e-6, double h = 1e-6, int maxProbes = 64, string what = "", int seed = 1)
    {
        var y = forward(inputs);
        var rng = new Tensors.Rng((ulong)seed);
        var g = Rand.Normal(rng, y.Length);
        var analytic = backward(inputs, g);
        Assert.That(analytic.Length, Is.EqualTo(inputs.Length), $"{what}: backward returned {analytic.Length} gradients for {inputs.Length} inputs");
        for (int k = 0; k < inputs.Length; k++)
        {
            var grad = analytic[k];
            if (grad == null) continue;
            var x = inputs[k];
            Assert.That(grad.Length, Is.EqualTo(x.Length), $"{what}: gradient {k} length");
            int probes = Math.Min(maxProbes, x.Length);
            var num = new double[probes];
            var ana = new double[probes];
            for (int p = 0; p < probes; p++)
            {
                int i = (int)((long)p * x.Length / probes);
                double orig = x[i];
                x[i] = orig + h; double lp = Dot(g, forward(inputs));
                x[i] = orig - h; double lm = Dot(g, forward(inputs));
                x[i] = orig;
                num[p] = (lp - lm) / (2 * h);
                ana[p] = grad[i];
            }
            double err = Check.RelErr(ana, num);
            Assert.That(err, Is.LessThan(tol), $"{what}: input {k} gradient vs finite differences, relative error {err:E3}");
        }
    }

    public static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }
}
