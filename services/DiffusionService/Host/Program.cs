using DiscriminativeTokens.DiffusionService;
using DiscriminativeTokens.Hosting;

// The diffusion service process: hosts one diffusion model behind dct.diffusion.v1.DiffusionService.
// Configuration: section "Diffusion" (see DiffusionOptions and README.md), e.g. --Diffusion:Model tests/data/sd-tiny.
var builder = DctServiceHost.CreateBuilder(args, defaultPort: 5101);
builder.Services.AddSingleton<ModelHost>();
builder.Services.AddHostedService(services => services.GetRequiredService<ModelHost>());
var app = builder.Build();
app.MapGrpcService<DiffusionGrpcService>();
app.MapDctInfrastructure();
app.Run();
