using DiscriminativeTokens.Orchestration.Training;

namespace DiscriminativeTokens.Orchestration.Tests;

public sealed class PromptBuilderTests
{
    [Fact]
    public void ReferenceTemplatesCycleOverTheMicroSteps()
    {
        var prompts = PromptBuilder.ForEpoch(TrainingSettings.ReferenceTemplates, "newclas", "tiger cat", 5);
        Assert.Equal(
        [
            "A photo of newclas tiger cat",
            "a high resolution realistic image of newclas tiger cat",
            "A close-up photo of a newclas tiger cat",
            "A photo of newclas tiger cat",
            "a high resolution realistic image of newclas tiger cat",
        ], prompts);
    }

    [Fact]
    public void TheClassNameIsAppendedWhenTheTemplateDoesNotPlaceIt()
    {
        Assert.Equal("A photo of newclas tiger cat", PromptBuilder.Fill("A photo of {token}", "newclas", "tiger cat"));
        Assert.Equal("tiger cat, a newclas one", PromptBuilder.Fill("{class}, a {token} one", "newclas", "tiger cat"));
        Assert.Equal("A photo of a tiger cat", PromptBuilder.FillClass("A photo of a {class}", "tiger cat"));
    }

    [Fact]
    public void ATemplateWithoutTheTokenIsRefusedWithWhatToFix()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            PromptBuilder.ForEpoch(["A photo of {token} {class}", "A photo of a {class}"], "newclas", "cat", 2));
        Assert.Contains("template 1", e.Message);
        Assert.Contains("{token}", e.Message);
        Assert.Throws<ArgumentException>(() => PromptBuilder.ForEpoch([], "newclas", "cat", 2));
        Assert.Throws<ArgumentException>(() => PromptBuilder.ForEpoch(["{token}"], "newclas", "cat", 0));
        Assert.Throws<ArgumentException>(() => PromptBuilder.Fill("A {token}", "newclas", " "));
    }
}
