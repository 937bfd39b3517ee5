using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Orchestration.Evaluation;

namespace DiscriminativeTokens.Orchestration.Tests;

[Collection(TinyModelsCollection.Name)]
public sealed class EvaluationRunTests(TinyModels models)
{
    private async Task<EvaluationSettings> SettingsAsync(IReadOnlyList<ulong> seeds)
    {
        var reference = await models.ReferenceRun;
        return new EvaluationSettings
        {
            Token = new LearnedTokenVector("newclas", reference.Outcome.BestToken),
            ClassId = 0,
            ClassPromptName = "cat",
            Seeds = seeds,
            TrainingSeed = 35,
            Steps = 3,
            ImageSize = 32,
        };
    }

    [Fact]
    public async Task ScoresOneTokenAndOneBaselineImagePerSeed()
    {
        var observer = new ImageRecorder();
        var settings = await SettingsAsync([0, 1, 2]);
        var outcome = await new EvaluationRun(models.Diffusion, models.ClassifierBackend, settings, observer).RunAsync(default);

        Assert.Equal(6, observer.Reports.Count);
        Assert.Equal([(EvaluationPromptKind.Token, 0UL), (EvaluationPromptKind.Baseline, 0UL), (EvaluationPromptKind.Token, 1UL),
                      (EvaluationPromptKind.Baseline, 1UL), (EvaluationPromptKind.Token, 2UL), (EvaluationPromptKind.Baseline, 2UL)],
                     observer.Reports.Select(r => (r.Kind, r.Seed)));
        Assert.Equal("A photo of newclas cat", outcome.TokenPrompt);
        Assert.Equal("A photo of a cat", outcome.BaselinePrompt);
        Assert.All(observer.Reports, r => Assert.Equal(r.Kind == EvaluationPromptKind.Token ? outcome.TokenPrompt : outcome.BaselinePrompt, r.Prompt));
        Assert.All(observer.Reports, r => Assert.Equal([1L, 3, 32, 32], r.Image.Shape));
        Assert.All(observer.Reports, r => Assert.Equal(r.PredictedClassId == 0, r.Correct));
        Assert.Equal(observer.Reports.Where(r => r.Kind == EvaluationPromptKind.Token).Count(r => r.Correct) / 3.0, outcome.TokenAccuracy);
        Assert.Equal(observer.Reports.Where(r => r.Kind == EvaluationPromptKind.Baseline).Count(r => r.Correct) / 3.0, outcome.BaselineAccuracy);
        Assert.Equal(3, outcome.ImagesPerPrompt);
        Assert.Equal([0UL, 1, 2], outcome.Seeds);
        Assert.Equal("vit-tiny", outcome.ClassifierModelId);

        // The learned token changes the image; the same seed without it gives the baseline.
        Assert.NotEqual(observer.Reports[0].Image.Values, observer.Reports[1].Image.Values);
        // Each score is the classifier's own prediction for the image.
        var direct = await models.ClassifierBackend.ClassifyAsync(observer.Reports[2].Image, 0, default);
        Assert.Equal(direct[0].PredictedClassId, observer.Reports[2].PredictedClassId);
        Assert.Equal(direct[0].TargetProbability, observer.Reports[2].TargetProbability);
    }

    [Fact]
    public async Task BadSettingsAreRefusedBeforeAnyImage()
    {
        var observer = new ImageRecorder();
        async Task<string> Refused(EvaluationSettings settings) =>
            (await Assert.ThrowsAsync<ArgumentException>(() =>
                new EvaluationRun(models.Diffusion, models.ClassifierBackend, settings, observer).RunAsync(default))).Message;

        Assert.Contains("used in training", await Refused(await SettingsAsync([0, 35])));
        Assert.Contains("No evaluation seeds", await Refused(await SettingsAsync([])));
        Assert.Contains("{token}", await Refused((await SettingsAsync([0])) with { TokenPrompt = "A photo of a {class}" }));
        Assert.Contains("{token}", await Refused((await SettingsAsync([0])) with { BaselinePrompt = "A {token} {class}" }));
        Assert.Contains("out of range", await Refused((await SettingsAsync([0])) with { ClassId = 10 }));
        Assert.Empty(observer.Reports);
    }

    private sealed class ImageRecorder : IEvaluationObserver
    {
        public List<EvaluationImageReport> Reports { get; } = [];

        public Task OnImageAsync(EvaluationImageReport report, CancellationToken cancellationToken)
        {
            Reports.Add(report);
            return Task.CompletedTask;
        }
    }
}
