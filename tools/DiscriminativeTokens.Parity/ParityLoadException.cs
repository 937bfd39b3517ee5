namespace DiscriminativeTokens.Parity;

/// <summary>The fixture cannot be used as given (missing folder, file or tensor; a model that does not load).
/// The message says what to fix; the command exits with code 2.</summary>
public sealed class ParityLoadException(string message, Exception? inner = null) : Exception(message, inner);
