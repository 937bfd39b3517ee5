namespace DiscriminativeTokens.Diffusion.Schedulers;

/// <summary>
/// The few numpy operations diffusers uses to place timesteps and sigmas, reproduced with numpy's float64 arithmetic
/// so that rounded timesteps and interpolated sigmas come out identical (a one-ulp difference can flip a .5 rounding).
/// </summary>
internal static class NumpyCompat
{
    /// <summary>np.linspace(start, stop, num): i·step + start, with the last element set to stop exactly.</summary>
    public static double[] Linspace(double start, double stop, int num)
    {
        var values = new double[num];
        if (num == 0) return values;
        if (num == 1)
        {
            values[0] = start;
            return values;
        }
        double step = (stop - start) / (num - 1);
        for (int i = 0; i < num; i++)
            values[i] = i * step + start;
        values[num - 1] = stop;
        return values;
    }

    /// <summary>np.arange(start, stop, step) for floats: ceil((stop − start)/step) values, start + i·delta.</summary>
    public static double[] Arange(double start, double stop, double step)
    {
        int count = Math.Max(0, (int)Math.Ceiling((stop - start) / step));
        var values = new double[count];
        if (count == 0) return values;
        values[0] = start;
        if (count == 1) return values;
        // numpy fills from the first two elements: delta = (start + step) − start.
        double second = start + step;
        double delta = second - start;
        values[1] = second;
        for (int i = 2; i < count; i++)
            values[i] = start + i * delta;
        return values;
    }

    /// <summary>np.round / ndarray.round: half to even.</summary>
    public static double Round(double value) => Math.Round(value, MidpointRounding.ToEven);

    /// <summary>np.interp(x, arange(len(fp)), fp) in float64.</summary>
    public static double InterpolateAtIndex(double x, IReadOnlyList<float> fp)
    {
        int last = fp.Count - 1;
        if (x <= 0) return fp[0];
        if (x >= last) return fp[last];
        int j = (int)Math.Floor(x);
        if (x == j) return fp[j];
        double slope = ((double)fp[j + 1] - fp[j]) / 1.0;
        return slope * (x - j) + fp[j];
    }
}
