namespace DiscriminativeTokens.Classification;

/// <summary>
/// A request the classifier refuses because of what the caller sent (shape, values, class ids, batch size) — the
/// caller's mistake, not the service's (gRPC: INVALID_ARGUMENT).
/// </summary>
public sealed class ClassifierInputException(string message) : ArgumentException(message);
