using System.Diagnostics;

namespace DiscriminativeTokens.Benchmarks;

/// <summary>Median of individually timed repetitions after a warm-up: robust to GC pauses and a noisy shared machine.</summary>
internal static class Timing
{
    public static Stats Measure(Action action, int warmup, int repetitions)
    {
        for (var i = 0; i < warmup; i++)
        {
            action();
        }

        var seconds = new double[repetitions];
        for (var i = 0; i < repetitions; i++)
        {
            var start = Stopwatch.GetTimestamp();
            action();
            seconds[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }

        return Stats.Of(seconds);
    }

    public static async Task<Stats> MeasureAsync(Func<Task> action, int warmup, int repetitions)
    {
        for (var i = 0; i < warmup; i++)
        {
            await action();
        }

        var seconds = new double[repetitions];
        for (var i = 0; i < repetitions; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await action();
            seconds[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }

        return Stats.Of(seconds);
    }

    /// <summary>
    /// Two ways of doing the same work, timed alternately (first, second, first, second, ...) so that both see the same
    /// load on a shared machine; a burst of load then slows both instead of whichever happened to run during it.
    /// </summary>
    public static async Task<(Stats First, Stats Second)> MeasureInterleavedAsync(
        Action first, Func<Task> second, int warmup, int repetitions)
    {
        for (var i = 0; i < warmup; i++)
        {
            first();
            await second();
        }

        var firstSeconds = new double[repetitions];
        var secondSeconds = new double[repetitions];
        for (var i = 0; i < repetitions; i++)
        {
            var start = Stopwatch.GetTimestamp();
            first();
            firstSeconds[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
            start = Stopwatch.GetTimestamp();
            await second();
            secondSeconds[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }

        return (Stats.Of(firstSeconds), Stats.Of(secondSeconds));
    }
}

/// <summary>Order statistics of repetition times, in seconds.</summary>
internal sealed record Stats(double Median, double P10, double P90)
{
    public static Stats Of(double[] seconds)
    {
        Array.Sort(seconds);
        return new Stats(Quantile(seconds, 0.5), Quantile(seconds, 0.1), Quantile(seconds, 0.9));
    }

    private static double Quantile(double[] sorted, double q)
    {
        var position = q * (sorted.Length - 1);
        var lower = (int)Math.Floor(position);
        var upper = Math.Min(lower + 1, sorted.Length - 1);
        return sorted[lower] + ((position - lower) * (sorted[upper] - sorted[lower]));
    }
}
