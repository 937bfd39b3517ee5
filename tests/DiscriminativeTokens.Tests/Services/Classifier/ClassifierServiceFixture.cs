using DiscriminativeTokens.Classification;
using DiscriminativeTokens.Testing;
using Client = DiscriminativeTokens.Contracts.Classifier.V1.ClassifierService.ClassifierServiceClient;

namespace DiscriminativeTokens.Tests.Services.Classifier;

/// <summary>
/// One ClassifierService process serving vit-tiny (preprocessing override: shorter side 40, as the fixture's
/// references), at most <see cref="MaxBatchSize"/> images a call, one call on the model at a time and one more
/// admitted; and the same classifier in-process for comparison. Shared by the tests of the collection, which run one
/// after the other.
/// </summary>
public sealed class ClassifierServiceFixture : IAsyncLifetime
{
    public const int MaxBatchSize = 4;

    public ServiceProcess Service { get; private set; } = null!;
    public Client Client { get; private set; } = null!;
    public ClassifierPipeline InProcess { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        InProcess = TinyClassifier.LoadInProcess(MaxBatchSize);
        Service = await ServiceProcess.StartAsync("ClassifierService", "ClassifierService",
        [
            .. TinyClassifier.ServiceArguments,
            "--Classifier:Preprocessing:ResizeShorterSide", "40",
            "--Classifier:MaxBatchSize", MaxBatchSize.ToString(),
            "--Classifier:MaxConcurrentCalls", "1",
            "--Classifier:MaxQueuedCalls", "1",
        ]);
        await Service.WaitForServingAsync();
        Client = new Client(Service.Channel);
    }

    public async Task DisposeAsync()
    {
        if (Service is not null) await Service.DisposeAsync();
        InProcess?.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class ClassifierServiceCollection : ICollectionFixture<ClassifierServiceFixture>
{
    public const string Name = "classifier service process";
}
