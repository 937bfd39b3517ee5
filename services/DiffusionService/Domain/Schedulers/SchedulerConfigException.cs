namespace DiscriminativeTokens.Diffusion.Schedulers;

/// <summary>A scheduler config (or an explicit scheduler option) holds a value this library cannot honour.</summary>
public sealed class SchedulerConfigException : Exception
{
    /// <summary>The config field at fault, e.g. "beta_schedule"; the scheduler name for an unknown scheduler.</summary>
    public string Field { get; }

    /// <summary>The offending value as written (JSON text or name).</summary>
    public string? Value { get; }

    public SchedulerConfigException(string field, string? value, string message, Exception? inner = null)
        : base(message, inner)
    {
        Field = field;
        Value = value;
    }
}
