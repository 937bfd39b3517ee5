using DiscriminativeTokens.Hosting;
using DiscriminativeTokens.Orchestrator;

// The orchestrator process: owns training and evaluation jobs behind dct.orchestrator.v1.OrchestratorService.
var builder = DctServiceHost.CreateBuilder(args, defaultPort: 5100);
var app = builder.Build();
app.MapGrpcService<OrchestratorGrpcService>();
app.MapDctInfrastructure();
app.Lifetime.ApplicationStarted.Register(() =>
    app.Services.GetRequiredService<ServiceReadiness>().MarkReady("orchestrator up; no job store yet"));
app.Run();
