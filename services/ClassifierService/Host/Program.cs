using DiscriminativeTokens.ClassifierService;
using DiscriminativeTokens.Hosting;

// The classifier service process: hosts one image classifier behind dct.classifier.v1.ClassifierService.
var builder = DctServiceHost.CreateBuilder(args, defaultPort: 5102);
var app = builder.Build();
app.MapGrpcService<ClassifierGrpcService>();
app.MapDctInfrastructure();
app.Lifetime.ApplicationStarted.Register(() =>
    app.Services.GetRequiredService<ServiceReadiness>().MarkReady("classifier service up; no classifier is loaded yet"));
app.Run();
