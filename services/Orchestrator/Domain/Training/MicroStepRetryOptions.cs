namespace DiscriminativeTokens.Orchestration.Training;

/// <summary>
/// How often and how patiently a micro-step whose downstream calls failed transiently is redone from its start
/// (exponential backoff with jitter between attempts).
/// </summary>
public sealed record MicroStepRetryOptions
{
    public int MaxRetryAttempts { get; init; } = 6;
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(30);
}
