namespace DiscriminativeTokens.Orchestration.Backends;

/// <summary>Prompt padding while encoding: to the tokenizer's maximum length (generation's), or the reference
/// implementation's unpadded training context.</summary>
public enum PromptPadding { MaxLength, ReferenceUnpadded }

/// <summary>Which UNet calls of a sampling run are differentiated (DESIGN.md §1).</summary>
public enum GradientPath { Reference, LastK, Full }

/// <summary>What a gradient session keeps between forward and backward (DESIGN.md §3).</summary>
public enum SessionMemoryMode { KeepGraph, Recompute }

/// <summary>Resolved sampling settings of one image: no zeros-mean-default here, every value is explicit.</summary>
public sealed record SamplingSettings(
    string Prompt,
    ulong Seed,
    int Steps,
    double GuidanceScale,
    int Width,
    int Height,
    string? Scheduler,
    PromptPadding Padding,
    string NegativePrompt = "");

/// <summary>Settings fixed for all forwards of a gradient session.</summary>
public sealed record GradientSessionOptions(
    string Placeholder,
    GradientPath Path,
    int LastKCalls,
    SessionMemoryMode MemoryMode);

/// <summary>One forward: sample with the token vector and return the decoded image [1, 3, H, W] in [0, 1].
/// <paramref name="InitialLatents"/> (when given) replaces the noise drawn from the seed.</summary>
public sealed record ForwardRequest(
    ulong ForwardId,
    SamplingSettings Sampling,
    float[] TokenEmbedding,
    TensorData? InitialLatents);

public sealed record ForwardResult(ulong ForwardId, TensorData Image, IReadOnlyList<string> Warnings);

/// <summary>dLoss/dToken for one forward, float32 [hidden size].</summary>
public sealed record TokenGradientResult(ulong ForwardId, float[] Gradient, int DifferentiatedCalls);

/// <summary>A token to generate with: the placeholder string and its embedding.</summary>
public sealed record LearnedTokenVector(string Placeholder, float[] Embedding);
