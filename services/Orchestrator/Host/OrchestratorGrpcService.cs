using System.Diagnostics;
using DiscriminativeTokens.Contracts.Diffusion.V1;
using DiscriminativeTokens.Contracts.Orchestrator.V1;
using DiscriminativeTokens.Orchestration.Endpoints;
using DiscriminativeTokens.Orchestration.Jobs;
using DiscriminativeTokens.Tensors;
using Grpc.Core;
using Endpoint = DiscriminativeTokens.Contracts.Orchestrator.V1.Endpoint;

namespace DiscriminativeTokens.Orchestrator;

/// <summary>
/// gRPC face of the job system, thin over the domain: requests are converted and handed to it, and its refusals are
/// mapped to status codes by <see cref="JobErrorInterceptor"/>.
/// </summary>
public sealed class OrchestratorGrpcService(
    EndpointRegistry endpoints, JobSubmission submission, JobManager jobs, JobResults results, TokenGeneration generation)
    : OrchestratorService.OrchestratorServiceBase
{
    public override Task<ListEndpointsResponse> ListEndpoints(ListEndpointsRequest request, ServerCallContext context)
    {
        var response = new ListEndpointsResponse { ArbitraryAddressesAllowed = endpoints.ArbitraryAddressesAllowed };
        response.Diffusion.AddRange(endpoints.Diffusion.Select(e => new Endpoint { Name = e.Name, Address = e.Address }));
        response.Classifiers.AddRange(endpoints.Classifiers.Select(e => new Endpoint { Name = e.Name, Address = e.Address }));
        return Task.FromResult(response);
    }

    public override Task<Job> StartTraining(StartTrainingRequest request, ServerCallContext context) =>
        submission.StartTrainingAsync(request, context.CancellationToken);

    public override Task<Job> StartEvaluation(StartEvaluationRequest request, ServerCallContext context) =>
        submission.StartEvaluationAsync(request, context.CancellationToken);

    public override async Task WatchJob(WatchJobRequest request, IServerStreamWriter<JobEvent> responseStream, ServerCallContext context)
    {
        RequireJobId(request.JobId);
        await foreach (var e in jobs.Watch(request.JobId, request.AfterSequence, context.CancellationToken))
            await responseStream.WriteAsync(e, context.CancellationToken);
    }

    public override Task<Job> GetJob(GetJobRequest request, ServerCallContext context)
    {
        RequireJobId(request.JobId);
        return Task.FromResult(jobs.Get(request.JobId));
    }

    public override Task<ListJobsResponse> ListJobs(ListJobsRequest request, ServerCallContext context)
    {
        foreach (var state in request.States)
            if (!Enum.IsDefined(state) || state == JobState.Unspecified)
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"states contains {state}, which is not a job state."));
        var page = jobs.List(request.States.Distinct().ToList(), request.PageSize, request.PageToken);
        var response = new ListJobsResponse { NextPageToken = page.NextPageToken };
        response.Jobs.AddRange(page.Jobs);
        return Task.FromResult(response);
    }

    public override Task<Job> CancelJob(CancelJobRequest request, ServerCallContext context)
    {
        RequireJobId(request.JobId);
        return Task.FromResult(jobs.Cancel(request.JobId));
    }

    public override Task<TrainingResult> GetTrainingResult(GetTrainingResultRequest request, ServerCallContext context)
    {
        RequireJobId(request.JobId);
        return Task.FromResult(results.GetTrainingResult(request.JobId));
    }

    public override Task<EvaluationResult> GetEvaluationResult(GetEvaluationResultRequest request, ServerCallContext context)
    {
        RequireJobId(request.JobId);
        return Task.FromResult(results.GetEvaluationResult(request.JobId));
    }

    /// <summary>Generates through the diffusion backend and streams each image as chunks, as the diffusion service does.</summary>
    public override async Task GenerateWithToken(GenerateWithTokenRequest request, IServerStreamWriter<GenerateEvent> responseStream,
                                                 ServerCallContext context)
    {
        RequireJobId(request.TrainingJobId);
        var clock = Stopwatch.StartNew();
        var images = await generation.StartAsync(request, context.CancellationToken);
        await foreach (var generated in images.WithCancellation(context.CancellationToken))
        {
            var tensor = TensorCodec.EncodeArray<float>(generated.Image.Values, generated.Image.Shape);
            foreach (var chunk in TensorChunker.Split(tensor))
                await responseStream.WriteAsync(new GenerateEvent
                {
                    Image = new ImageChunk { ImageIndex = generated.Index, Seed = generated.Seed, Chunk = chunk },
                }, context.CancellationToken);
        }
        await responseStream.WriteAsync(new GenerateEvent { Completed = new GenerateCompleted { Seconds = clock.Elapsed.TotalSeconds } },
                                        context.CancellationToken);
    }

    private static void RequireJobId(string jobId)
    {
        if (string.IsNullOrWhiteSpace(jobId))
            throw new RpcException(new Status(StatusCode.InvalidArgument, "job_id is required."));
    }
}
