namespace DiscriminativeTokens.Orchestration.Training;

/// <summary>
/// Turns prompt templates into the prompts of an epoch: "{token}" becomes the placeholder (required, or the token
/// would get no gradient), "{class}" the class name, which is appended at the end when the template does not place it
/// (the reference's "{template} {class name}"). Micro-step i uses template i modulo the number of templates.
/// </summary>
public static class PromptBuilder
{
    public const string TokenMarker = "{token}";
    public const string ClassMarker = "{class}";

    /// <summary>The prompts of micro-steps 0 .. <paramref name="microSteps"/> − 1.</summary>
    public static IReadOnlyList<string> ForEpoch(IReadOnlyList<string> templates, string placeholder, string className,
                                                 int microSteps)
    {
        ArgumentNullException.ThrowIfNull(templates);
        if (templates.Count == 0)
            throw new ArgumentException("No prompt templates were given; give at least one, e.g. \"A photo of {token} {class}\".",
                                        nameof(templates));
        if (microSteps < 1)
            throw new ArgumentException($"Micro-steps per epoch must be at least 1; it is {microSteps}.", nameof(microSteps));
        var filled = templates.Select((t, i) => Fill(t, placeholder, className, $"template {i}")).ToArray();
        return Enumerable.Range(0, microSteps).Select(i => filled[i % filled.Length]).ToArray();
    }

    /// <summary>One template filled in; <paramref name="what"/> names it in errors.</summary>
    public static string Fill(string template, string placeholder, string className, string what = "the template")
    {
        if (string.IsNullOrWhiteSpace(template))
            throw new ArgumentException($"{what} is empty; write a prompt with {TokenMarker}, e.g. \"A photo of {TokenMarker} {ClassMarker}\".");
        if (!template.Contains(TokenMarker, StringComparison.Ordinal))
            throw new ArgumentException(
                $"{what} \"{template}\" has no {TokenMarker}; mark where the learned token goes, e.g. " +
                $"\"A photo of {TokenMarker} {ClassMarker}\" (the placeholder belongs right before the class name).");
        return FillClass(template.Replace(TokenMarker, RequireWord(placeholder, "placeholder"), StringComparison.Ordinal),
                         className);
    }

    /// <summary>A prompt without the token (e.g. the evaluation baseline): only the class rule applies.</summary>
    public static string FillClass(string template, string className)
    {
        ArgumentNullException.ThrowIfNull(template);
        string name = RequireWord(className, "class name");
        return template.Contains(ClassMarker, StringComparison.Ordinal)
            ? template.Replace(ClassMarker, name, StringComparison.Ordinal)
            : $"{template.TrimEnd()} {name}";
    }

    private static string RequireWord(string? value, string what) =>
        string.IsNullOrWhiteSpace(value)
            ? throw new ArgumentException($"The {what} is empty; give the words to put in the prompt.")
            : value.Trim();
}
