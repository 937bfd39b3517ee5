using DiscriminativeTokens.DiffusionService;
using DiscriminativeTokens.Hosting;

// The diffusion service process: hosts one diffusion model behind dct.diffusion.v1.DiffusionService.
var builder = DctServiceHost.CreateBuilder(args, defaultPort: 5101);
var app = builder.Build();
app.MapGrpcService<DiffusionGrpcService>();
app.MapDctInfrastructure();
app.Lifetime.ApplicationStarted.Register(() =>
    app.Services.GetRequiredService<ServiceReadiness>().MarkReady("diffusion service up; no model is loaded yet"));
app.Run();
