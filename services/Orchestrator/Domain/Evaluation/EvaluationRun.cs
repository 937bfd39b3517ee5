using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Orchestration.Training;

namespace DiscriminativeTokens.Orchestration.Evaluation;

/// <summary>
/// Generates and scores the evaluation images: for each seed one image from the token prompt (with the learned
/// token) and one from the baseline prompt (without it), each classified against the target class. Seeds must be
/// ones training never used, so the accuracy measures the token, not memorized noise.
/// </summary>
public sealed class EvaluationRun(IDiffusionBackend diffusion, IClassifierBackend classifier, EvaluationSettings settings,
                                  IEvaluationObserver observer)
{
    public async Task<EvaluationOutcome> RunAsync(CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(diffusion);
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(observer);
        var (tokenPrompt, baselinePrompt) = Check(settings);

        var model = await diffusion.GetModelInfoAsync(cancellationToken);
        var classes = await classifier.GetInfoAsync(cancellationToken);
        if (settings.ClassId >= classes.NumClasses)
            throw new ArgumentException($"Class id {settings.ClassId} is out of range: classifier {classes.ModelId} has classes " +
                                        $"0..{classes.NumClasses - 1}.");
        if (settings.Token.Embedding.Length != model.TextHiddenSize)
            throw new ArgumentException($"The token has {settings.Token.Embedding.Length} values; {model.ModelId} has hidden size " +
                                        $"{model.TextHiddenSize}. Evaluate a token with the model it was trained on.");
        int size = settings.ImageSize ?? model.SampleSize;

        int tokenCorrect = 0, baselineCorrect = 0;
        foreach (ulong seed in settings.Seeds)
        {
            if (await ScoreAsync(EvaluationPromptKind.Token, tokenPrompt, seed, size, settings.Token, cancellationToken))
                tokenCorrect++;
            if (await ScoreAsync(EvaluationPromptKind.Baseline, baselinePrompt, seed, size, null, cancellationToken))
                baselineCorrect++;
        }

        int k = settings.Seeds.Count;
        return new EvaluationOutcome(tokenPrompt, baselinePrompt, tokenCorrect / (double)k, baselineCorrect / (double)k, k,
                                     settings.Seeds.ToArray(), classes.ModelId);
    }

    private async Task<bool> ScoreAsync(EvaluationPromptKind kind, string prompt, ulong seed, int size,
                                        LearnedTokenVector? token, CancellationToken cancellationToken)
    {
        var sampling = new SamplingSettings(prompt, seed, settings.Steps, settings.GuidanceScale, size, size,
                                            settings.Scheduler, settings.Padding);
        var image = await diffusion.GenerateAsync(sampling, token, cancellationToken);
        var predictions = await classifier.ClassifyAsync(image, settings.ClassId, cancellationToken);
        if (predictions.Count != 1)
            throw new BackendException(classifier.Name, BackendFailure.Internal,
                $"The classifier returned {predictions.Count} predictions for one image.");
        var prediction = predictions[0];
        bool correct = prediction.PredictedClassId == settings.ClassId;
        await observer.OnImageAsync(new EvaluationImageReport(kind, prompt, seed, prediction.PredictedClassId,
                                                              prediction.TargetProbability, correct, image), cancellationToken);
        return correct;
    }

    private static (string TokenPrompt, string BaselinePrompt) Check(EvaluationSettings s)
    {
        if (s.Seeds is null || s.Seeds.Count == 0)
            throw new ArgumentException("No evaluation seeds were given; give at least one (the reference uses 0..9).");
        if (s.Seeds.Distinct().Count() != s.Seeds.Count)
            throw new ArgumentException($"The evaluation seeds repeat ({string.Join(", ", s.Seeds)}); give each seed once.");
        if (s.Seeds.Contains(s.TrainingSeed))
            throw new ArgumentException($"Seed {s.TrainingSeed} was used in training; evaluate on seeds training never saw.");
        if (s.ClassId < 0) throw new ArgumentException($"ClassId must be 0 or more (0-based); it is {s.ClassId}.");
        if (s.Steps < 1) throw new ArgumentException($"Steps must be at least 1; it is {s.Steps}.");
        if (s.ImageSize is < 1) throw new ArgumentException($"ImageSize must be positive or null (the model's); it is {s.ImageSize}.");
        ArgumentNullException.ThrowIfNull(s.Token);
        string tokenPrompt = PromptBuilder.Fill(s.TokenPrompt, s.Token.Placeholder, s.ClassPromptName, "The token prompt");
        if (s.BaselinePrompt.Contains(PromptBuilder.TokenMarker, StringComparison.Ordinal))
            throw new ArgumentException($"The baseline prompt \"{s.BaselinePrompt}\" contains {PromptBuilder.TokenMarker}; the " +
                                        "baseline is the prompt without the learned token, e.g. \"A photo of a {class}\".");
        string baselinePrompt = PromptBuilder.FillClass(s.BaselinePrompt, s.ClassPromptName);
        return (tokenPrompt, baselinePrompt);
    }
}
