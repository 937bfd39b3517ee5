namespace DiscriminativeTokens.Classification;

/// <summary>One class of one image's prediction.</summary>
public sealed record ClassScore(int ClassId, string Label, float Probability, float Logit);
