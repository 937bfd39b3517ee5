using DiscriminativeTokens.Contracts.Orchestrator.V1;
using DiscriminativeTokens.Orchestration.Jobs;
using DiscriminativeTokens.Orchestrator.Tests.Fakes;
using DiscriminativeTokens.Contracts.Diffusion.V1;

namespace DiscriminativeTokens.Orchestrator.Tests;

/// <summary>Every bad StartTraining request is refused with the right kind and a message naming the problem, and
/// nothing is created.</summary>
public class TrainingValidationTests
{
    public static TheoryData<string, JobRequestError, string> BadRequests => new()
    {
        { "template", JobRequestError.InvalidArgument, "\"A photo of {class}\" has no {token}" },
        { "steps0", JobRequestError.InvalidArgument, "steps = 0" },
        { "steps51", JobRequestError.InvalidArgument, "1..50" },
        { "guidance0", JobRequestError.InvalidArgument, "guidance_scale = 0" },
        { "guidance31", JobRequestError.InvalidArgument, "guidance_scale = 31" },
        { "microsteps0", JobRequestError.InvalidArgument, "micro_steps_per_epoch = 0" },
        { "epochs0", JobRequestError.InvalidArgument, "max_epochs = 0" },
        { "lr0", JobRequestError.InvalidArgument, "learning_rate = 0" },
        { "beta1", JobRequestError.InvalidArgument, "beta1 = 1" },
        { "beta2", JobRequestError.InvalidArgument, "beta2 = -0.1" },
        { "size30", JobRequestError.InvalidArgument, "multiple of 8" },
        { "size512", JobRequestError.InvalidArgument, "up to 256" },
        { "lastk0", JobRequestError.InvalidArgument, "last_k_calls = 0" },
        { "patience0", JobRequestError.InvalidArgument, "patience_epochs = 0" },
        { "accuracy0", JobRequestError.InvalidArgument, "target_accuracy = 0" },
        { "accuracy1.5", JobRequestError.InvalidArgument, "target_accuracy = 1.5" },
        { "scheduler", JobRequestError.InvalidArgument, "scheduler 'euler'" },
        { "placeholderSpaces", JobRequestError.InvalidArgument, "placeholder 'new clas'" },
        { "placeholderIsAWord", JobRequestError.InvalidArgument, "'photo' is already a token" },
        { "initializer", JobRequestError.InvalidArgument, "initializer 'cat'" },
        { "noTarget", JobRequestError.InvalidArgument, "target is required" },
        { "classId99", JobRequestError.InvalidArgument, "classes 0..4" },
        { "unknownLabel", JobRequestError.InvalidArgument, "no class labelled 'tiger'" },
        { "ambiguousLabel", JobRequestError.InvalidArgument, "'Triangle' is ambiguous: classes 3, 4" },
        { "unknownEndpoint", JobRequestError.InvalidArgument, "no diffusion endpoint named 'nope'. Configured: 'dead', 'default', 'other', 'slow'" },
        { "unknownClassifierEndpoint", JobRequestError.InvalidArgument, "no classifier endpoint named 'nope'" },
        { "address", JobRequestError.PermissionDenied, "Orchestrator:AllowArbitraryAddresses" },
        { "unreachableDiffusion", JobRequestError.FailedPrecondition, FakeBackendFactory.Unreachable },
        { "unreachableClassifier", JobRequestError.FailedPrecondition, FakeBackendFactory.Unreachable },
        { "hangingDiffusion", JobRequestError.FailedPrecondition, "did not answer within 0.5 s" },
    };

    private static TrainingConfig Bad(string what)
    {
        var c = JobSystem.SmallTraining();
        switch (what)
        {
            case "template": c.PromptTemplates.Add("A photo of {token} {class}"); c.PromptTemplates.Add("A photo of {class}"); break;
            case "steps0": c.Steps = 0; break;
            case "steps51": c.Steps = 51; break;
            case "guidance0": c.GuidanceScale = 0; break;
            case "guidance31": c.GuidanceScale = 31; break;
            case "microsteps0": c.MicroStepsPerEpoch = 0; break;
            case "epochs0": c.MaxEpochs = 0; break;
            case "lr0": c.LearningRate = 0; break;
            case "beta1": c.Beta1 = 1; break;
            case "beta2": c.Beta2 = -0.1; break;
            case "size30": c.ImageSize = 30; break;
            case "size512": c.ImageSize = 512; break;
            case "lastk0": c.GradientMode = GradientMode.LastK; c.LastKCalls = 0; break;
            case "patience0": c.PatienceEpochs = 0; break;
            case "accuracy0": c.TargetAccuracy = 0; break;
            case "accuracy1.5": c.TargetAccuracy = 1.5; break;
            case "scheduler": c.Scheduler = "euler"; break;
            case "placeholderSpaces": c.Placeholder = "new clas"; break;
            case "placeholderIsAWord": c.Placeholder = "photo"; break;
            case "initializer": c.Initializer = "cat"; break;
            case "noTarget": c.Target = null; break;
            case "classId99": c.Target = new TargetClass { ClassId = 99 }; break;
            case "unknownLabel": c.Target = new TargetClass { Label = "tiger" }; break;
            case "ambiguousLabel": c.Target = new TargetClass { Label = "Triangle" }; break;
            case "unknownEndpoint": c.Diffusion = new ServiceRef { Endpoint = "nope" }; break;
            case "unknownClassifierEndpoint": c.Classifier = new ServiceRef { Endpoint = "nope" }; break;
            case "address": c.Diffusion = new ServiceRef { Address = "http://evil.example:80" }; break;
            case "unreachableDiffusion": c.Diffusion = new ServiceRef { Endpoint = "dead" }; break;
            case "unreachableClassifier": c.Classifier = new ServiceRef { Endpoint = "dead" }; break;
            case "hangingDiffusion": c.Diffusion = new ServiceRef { Endpoint = "slow" }; break;
            default: throw new ArgumentException(what);
        }
        return c;
    }

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task ABadRequestIsRefusedAndNothingIsCreated(string what, JobRequestError error, string message)
    {
        using var dir = new TempDirectory();
        var executor = new ScriptedExecutor();
        await using var system = JobSystem.Open(dir.Path, executor);
        var refused = await Assert.ThrowsAsync<JobRequestException>(() => system.StartTrainingAsync(Bad(what)));
        Assert.Equal(error, refused.Error);
        Assert.Contains(message, refused.Message);
        Assert.Empty(system.Manager.List([], 50, null).Jobs);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "jobs")));
        Assert.Empty(executor.Started);
    }

    [Fact]
    public async Task AnAcceptedRequestIsStoredWithEveryDefaultFilledIn()
    {
        using var dir = new TempDirectory();
        await using var system = JobSystem.Open(dir.Path, new ScriptedExecutor());
        var job = await system.StartTrainingAsync(new TrainingConfig { Target = new TargetClass { Label = "TRIANGLE pointing down" } });
        var c = system.Manager.Get(job.JobId).Training;
        Assert.Equal(new ServiceRef { Endpoint = "default" }, c.Diffusion);
        Assert.Equal(new ServiceRef { Endpoint = "default" }, c.Classifier);
        Assert.Equal(new TargetClass { ClassId = 2, PromptName = "triangle pointing down" }, c.Target);
        Assert.Equal("newclas", c.Placeholder);
        Assert.Equal("a", c.Initializer);
        Assert.Equal(["A photo of {token} {class}", "a high resolution realistic image of {token} {class}", "A close-up photo of a {token} {class}"],
                     c.PromptTemplates);
        Assert.Equal(5, c.MicroStepsPerEpoch);
        Assert.Equal(30, c.Steps);
        Assert.Equal(7f, c.GuidanceScale);
        Assert.True(c.HasSeed);
        Assert.Equal(35UL, c.Seed);
        Assert.Equal(32, c.ImageSize);
        Assert.Equal(GradientMode.Reference, c.GradientMode);
        Assert.Equal(1, c.LastKCalls);
        Assert.Equal(MemoryMode.Recompute, c.MemoryMode);
        Assert.Equal(PromptPadding.MaxLength, c.Padding);
        Assert.Equal(0.00125, c.LearningRate);
        Assert.Equal(0.9, c.Beta1);
        Assert.Equal(0.999, c.Beta2);
        Assert.Equal(1e-8, c.Epsilon);
        Assert.Equal(0.01, c.WeightDecay);
        Assert.Equal(1.0, c.MaxGradNorm);
        Assert.Equal(0.7, c.TargetAccuracy);
        Assert.Equal(15, c.PatienceEpochs);
        Assert.Equal(50, c.MaxEpochs);
        Assert.True(c.HasOverlap);
        Assert.True(c.Overlap);
    }

    [Fact]
    public async Task AnAddressIsAcceptedWhenTheOperatorAllowsIt()
    {
        var registry = new Orchestration.Endpoints.EndpointRegistry(JobSystem.TestEndpoints with { AllowArbitraryAddresses = true });
        var resolved = registry.Resolve(Orchestration.Endpoints.ServiceKind.Diffusion, new ServiceRef { Address = "http://10.0.0.5:5101" });
        Assert.Equal("http://10.0.0.5:5101", resolved.Address);
        Assert.Equal(JobRequestError.InvalidArgument, Assert.Throws<JobRequestException>(() =>
            registry.Resolve(Orchestration.Endpoints.ServiceKind.Diffusion, new ServiceRef { Address = "ftp://x" })).Error);
        Assert.Equal(new Orchestration.Endpoints.ResolvedEndpoint("default", FakeBackendFactory.Default),
                     registry.Resolve(Orchestration.Endpoints.ServiceKind.Diffusion, new ServiceRef { Endpoint = "" }));
        await Task.CompletedTask;
    }
}
