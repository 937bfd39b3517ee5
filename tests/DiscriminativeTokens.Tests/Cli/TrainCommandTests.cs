using System.CommandLine;
using DiscriminativeTokens.Cli;
using DiscriminativeTokens.Contracts.Diffusion.V1;
using DiscriminativeTokens.Contracts.Orchestrator.V1;

namespace DiscriminativeTokens.Tests.Cli;

/// <summary>`dct train` options become the TrainingConfig the orchestrator receives; left-out options stay unset.</summary>
public class TrainCommandTests
{
    private static StartTrainingRequest Parse(params string[] args)
    {
        var options = new TrainingRequestOptions();
        var command = new RootCommand();
        foreach (var symbol in options.Symbols)
        {
            if (symbol is Argument argument) command.Arguments.Add(argument);
            else command.Options.Add((Option)symbol);
        }
        var result = command.Parse(args);
        Assert.Empty(result.Errors);
        return options.ToRequest(result);
    }

    [Fact]
    public void LeftOutOptionsStayUnsetSoTheOrchestratorAppliesTheReferenceDefaults()
    {
        var config = Parse("tiger cat").Config;

        Assert.Equal("tiger cat", config.Target.Label);
        Assert.Equal(TargetClass.SelectionOneofCase.Label, config.Target.SelectionCase);
        Assert.False(config.HasSteps);
        Assert.False(config.HasGuidanceScale);
        Assert.False(config.HasSeed);
        Assert.False(config.HasLearningRate);
        Assert.False(config.HasOverlap);
        Assert.Empty(config.PromptTemplates);
        Assert.Equal(GradientMode.Unspecified, config.GradientMode);
        Assert.Equal("", config.Diffusion.Endpoint);
    }

    [Fact]
    public void EveryGivenOptionReachesTheConfig()
    {
        var request = Parse("282", "--class-name", "tiger cat", "--steps", "4", "--guidance", "3.5", "--seed", "7",
            "--micro-steps", "2", "--size", "32", "--gradient", "last-k", "--last-k", "3", "--memory", "keep-graph",
            "--padding", "reference", "--lr", "0.01", "--weight-decay", "0", "--max-grad-norm", "2", "--max-epochs", "4",
            "--patience", "2", "--target-accuracy", "0.9", "--no-overlap", "--template", "a {token} {class}",
            "--template", "one {token}", "--classifier-endpoint", "audit", "--name", "run 1");
        var config = request.Config;

        Assert.Equal(282, config.Target.ClassId);
        Assert.Equal("tiger cat", config.Target.PromptName);
        Assert.Equal(4, config.Steps);
        Assert.Equal(3.5f, config.GuidanceScale);
        Assert.Equal(7UL, config.Seed);
        Assert.Equal(2, config.MicroStepsPerEpoch);
        Assert.Equal(32, config.ImageSize);
        Assert.Equal(GradientMode.LastK, config.GradientMode);
        Assert.Equal(3, config.LastKCalls);
        Assert.Equal(MemoryMode.KeepGraph, config.MemoryMode);
        Assert.Equal(PromptPadding.ReferenceUnpadded, config.Padding);
        Assert.Equal(0.01, config.LearningRate);
        Assert.True(config.HasWeightDecay);
        Assert.Equal(0.0, config.WeightDecay);
        Assert.Equal(2.0, config.MaxGradNorm);
        Assert.Equal(4, config.MaxEpochs);
        Assert.Equal(2, config.PatienceEpochs);
        Assert.Equal(0.9, config.TargetAccuracy);
        Assert.True(config.HasOverlap);
        Assert.False(config.Overlap);
        Assert.Equal(["a {token} {class}", "one {token}"], config.PromptTemplates);
        Assert.Equal("audit", config.Classifier.Endpoint);
        Assert.Equal("run 1", request.DisplayName);
    }

    [Fact]
    public void UnknownModeNamesAreRefusedNamingTheChoices()
    {
        var e = Assert.Throws<ArgumentException>(() => Parse("1", "--gradient", "everything"));
        Assert.Contains("reference, last-k, full", e.Message);
        e = Assert.Throws<ArgumentException>(() => Parse("1", "--diffusion-endpoint", "a", "--diffusion-address", "http://x:1"));
        Assert.Contains("not both", e.Message);
    }

    [Fact]
    public void EventsPrintAsOneLineWithTheirSequence()
    {
        var micro = new JobEvent
        {
            Sequence = 12,
            MicroStep = new MicroStep { Epoch = 3, Index = 1, Prompt = "A photo of newclas cat", Loss = 0.5f, PredictedClassId = 2, PredictedLabel = "dog", TargetProbability = 0.25f, Seconds = 1.5 },
        };
        Assert.Equal("[  12] epoch 3 image 2: loss 0.5, p(target) 0.250, predicted 2 \"dog\", 1.5 s — A photo of newclas cat",
                     JobEventFormatter.Format(micro));
        Assert.False(JobEventFormatter.IsTerminal(micro));
        var failed = new JobEvent { Sequence = 13, Failed = new JobFailed { Status = new Google.Rpc.Status { Code = 14, Message = "classifier down" } } };
        Assert.Equal("[  13] FAILED: Unavailable: classifier down", JobEventFormatter.Format(failed));
        Assert.True(JobEventFormatter.IsTerminal(failed));
        var trained = new JobEvent { Sequence = 14, Finished = new JobFinished { Reason = "patience", Epochs = 16, BestLoss = 2.0979036, FinalAccuracy = 0.4 } };
        Assert.Equal("[  14] finished (patience) after 16 epoch(s): best loss 2.0979, accuracy 40 %", JobEventFormatter.Format(trained));
        var evaluated = new JobEvent { Sequence = 7, Finished = new JobFinished { Reason = "completed" } };
        Assert.Equal("[   7] finished", JobEventFormatter.Format(evaluated));
    }
}
