using AmbientNative.Backends.Cuda.Native;

namespace AmbientNative.Backends.Cuda;

/// <summary>Times queued GPU work with CUDA events on our stream (host clocks would time the queueing).</summary>
public static class CudaTiming
{
    /// <summary>Runs <paramref name="work"/> <paramref name="warmup"/> times untimed, then returns the device time in ms of each of <paramref name="reps"/> runs.</summary>
    public static double[] Measure(CudaContext context, Action work, int warmup, int reps)
    {
        context.MakeCurrent();
        for (int i = 0; i < warmup; i++) work();
        var events = new IntPtr[reps + 1];
        try
        {
            for (int i = 0; i <= reps; i++) events[i] = CudaDriver.EventCreate();
            CudaDriver.EventRecord(events[0], context.Stream);
            for (int i = 0; i < reps; i++)
            {
                work();
                CudaDriver.EventRecord(events[i + 1], context.Stream);
            }
            CudaDriver.EventSynchronize(events[reps]);
            var ms = new double[reps];
            for (int i = 0; i < reps; i++) ms[i] = CudaDriver.EventElapsedMs(events[i], events[i + 1]);
            return ms;
        }
        finally
        {
            foreach (var e in events) if (e != IntPtr.Zero) CudaDriver.EventDestroy(e);
        }
    }

    public static double Median(IReadOnlyList<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
    }
}
