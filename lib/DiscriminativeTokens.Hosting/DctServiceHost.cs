using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DiscriminativeTokens.Hosting;

/// <summary>
/// Builds a service process the same way for all three services: Kestrel with HTTP/2 cleartext on loopback by
/// default (override with --urls or the Urls setting), raised message limits, per-call logging, gRPC health checks
/// backed by <see cref="ServiceReadiness"/>, server reflection, and graceful shutdown on SIGTERM/Ctrl+C.
/// </summary>
public static class DctServiceHost
{
    public static WebApplicationBuilder CreateBuilder(string[] args, int defaultPort)
    {
        // appsettings.json ships next to the service's dll; read it from there whatever the working directory is
        // (scripts and containers start services from elsewhere).
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        if (string.IsNullOrEmpty(builder.Configuration["Urls"]))
            builder.WebHost.UseUrls($"http://127.0.0.1:{defaultPort}");
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.ConfigureEndpointDefaults(endpoint => endpoint.Protocols = HttpProtocols.Http2));

        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.TimestampFormat = "HH:mm:ss.fff ";
        });

        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(15));
        builder.Services.AddSingleton<CallLoggingInterceptor>();
        builder.Services.AddGrpc(ConfigureGrpc);
        builder.Services.AddGrpcReflection();
        builder.Services.AddSingleton<ServiceReadiness>();
        builder.Services.AddHealthChecks().AddCheck<ServiceReadiness>("ready");
        builder.Services.AddGrpcHealthChecks();
        return builder;
    }

    private static void ConfigureGrpc(GrpcServiceOptions options)
    {
        options.MaxReceiveMessageSize = GrpcLimits.MaxMessageBytes;
        options.MaxSendMessageSize = GrpcLimits.MaxMessageBytes;
        options.Interceptors.Add<CallLoggingInterceptor>();
    }

    /// <summary>Maps the health and reflection services next to the application's own.</summary>
    public static WebApplication MapDctInfrastructure(this WebApplication app)
    {
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("DiscriminativeTokens.Hosting");
        lifetime.ApplicationStopping.Register(() => logger.LogInformation("Stopping: finishing in-flight calls"));
        lifetime.ApplicationStopped.Register(() => logger.LogInformation("Stopped"));
        return app;
    }
}
