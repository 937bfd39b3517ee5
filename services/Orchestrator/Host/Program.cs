using DiscriminativeTokens.Hosting;
using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Orchestration.Downstream;
using DiscriminativeTokens.Orchestration.Endpoints;
using DiscriminativeTokens.Orchestration.Jobs;
using DiscriminativeTokens.Orchestration.Validation;
using DiscriminativeTokens.Orchestrator;

// The orchestrator process: owns training and evaluation jobs behind dct.orchestrator.v1.OrchestratorService.
// Settings: see OrchestratorConfiguration (Orchestrator:DataDirectory, MaxConcurrentJobs, Endpoints, ...).
var builder = DctServiceHost.CreateBuilder(args, defaultPort: 5100);
var configuration = builder.Configuration;
var services = builder.Services;

services.AddSingleton(OrchestratorConfiguration.Jobs(configuration));
services.AddSingleton(new EndpointRegistry(OrchestratorConfiguration.Endpoints(configuration)));
services.AddSingleton(OrchestratorConfiguration.Retry(configuration));
services.AddSingleton(OrchestratorConfiguration.Validation(configuration));
services.AddSingleton(TimeProvider.System);

// Created by the container so it is disposed with it (the factory owns one channel per downstream service).
services.AddSingleton<IBackendFactory>(_ => new GrpcBackendFactory(OrchestratorConfiguration.Downstream(configuration)));

services.AddSingleton(sp => new JobStore(sp.GetRequiredService<JobManagerOptions>().DataDirectory));
services.AddSingleton<ITrainingEngine>(sp => new TrainingLoopEngine(sp.GetRequiredService<TimeProvider>()));
services.AddSingleton<IEvaluationEngine, EvaluationRunEngine>();
services.AddSingleton<TrainingJobRunner>();
services.AddSingleton<EvaluationJobRunner>();
services.AddSingleton<IJobExecutor, JobExecutor>();
services.AddSingleton<JobManager>();
services.AddSingleton<TrainingRequestValidator>();
services.AddSingleton<EvaluationRequestValidator>();
services.AddSingleton<JobSubmission>();
services.AddSingleton<JobResults>();
services.AddSingleton<TokenGeneration>();
services.AddHostedService<JobManagerLifetime>();
services.AddSingleton<JobErrorInterceptor>();
services.AddGrpc().AddServiceOptions<OrchestratorGrpcService>(o => o.Interceptors.Add<JobErrorInterceptor>());

var app = builder.Build();
app.MapGrpcService<OrchestratorGrpcService>();
app.MapDctInfrastructure();
app.Run();
