using DiscriminativeTokens.Contracts.Orchestrator.V1;
using DiscriminativeTokens.Orchestration.Tokens;
using DiscriminativeTokens.Tensors;
using Google.Protobuf;

namespace DiscriminativeTokens.Orchestration.Jobs;

/// <summary>What finished jobs produced, read back from their artifacts.</summary>
public sealed class JobResults(JobStore store)
{
    /// <summary>The learned token of a succeeded training job; FAILED_PRECONDITION while it has not succeeded.</summary>
    public TrainingResult GetTrainingResult(string jobId)
    {
        var job = Succeeded(jobId, JobKind.Training);
        var token = LearnedTokenFile.Read(job.ArtifactsDir);
        var sidecar = token.Sidecar;
        var result = new TrainingResult
        {
            JobId = jobId,
            Placeholder = token.Placeholder,
            Embedding = TensorCodec.EncodeArray<float>(token.Embedding, [token.Embedding.Length]),
            LearnedEmbedsSafetensors = ByteString.CopyFrom(File.ReadAllBytes(Path.Combine(job.ArtifactsDir, LearnedTokenFile.EmbeddingsFileName))),
            SidecarJson = File.ReadAllText(Path.Combine(job.ArtifactsDir, LearnedTokenFile.SidecarFileName)),
            ClassId = sidecar.ClassId,
            ClassLabel = sidecar.ClassLabel,
            BestLoss = sidecar.BestLoss,
            FinalAccuracy = sidecar.FinalAccuracy,
            Epochs = sidecar.Epochs,
        };
        return result;
    }

    /// <summary>The accuracies of a succeeded evaluation job (its evaluation.json).</summary>
    public EvaluationResult GetEvaluationResult(string jobId)
    {
        var job = Succeeded(jobId, JobKind.Evaluation);
        string path = Path.Combine(job.ArtifactsDir, EvaluationJobRunner.ResultFileName);
        if (!File.Exists(path))
            throw JobRequestException.Precondition($"The evaluation job '{jobId}' succeeded but {path} is missing.");
        return JsonParser.Default.Parse<EvaluationResult>(File.ReadAllText(path));
    }

    /// <summary>A succeeded job of the given kind, or the request error that says why not.</summary>
    public Job Succeeded(string jobId, JobKind kind)
    {
        var job = store.Get(jobId) ?? throw JobRequestException.NotFound(jobId);
        if (job.Kind != kind)
            throw JobRequestException.Invalid($"Job '{jobId}' is a {Describe(job.Kind)} job, not a {Describe(kind)} job.");
        if (job.State != JobState.Succeeded)
            throw JobRequestException.Precondition($"Job '{jobId}' is {job.State}; its result exists once it has succeeded.");
        return job;
    }

    private static string Describe(JobKind kind) => kind == JobKind.Training ? "training" : "evaluation";
}
