using DiscriminativeTokens.Classification;
using DiscriminativeTokens.Classification.Preprocessing;
using DiscriminativeTokens.Testing;
using TorchSharp;

namespace DiscriminativeTokens.Downstream.Tests;

/// <summary>How the tests start the two services, and the vit-tiny settings both sides use.</summary>
internal static class Services
{
    public static string VitFolder => Path.Combine(RepositoryPaths.SdTiny, "vit-tiny");

    /// <summary>The fixture's preprocessing (shorter side 40, kornia crop 32, mean = std = 0.5); the service gets it
    /// through Classifier:Preprocessing:ResizeShorterSide 40.</summary>
    public static ClassifierPreprocessing VitPreprocessing { get; } = new(
        ResizeStep.ShorterSide(40, ResizeInterpolation.Bicubic, antialias: false),
        CenterCropStep.Create(32, 32, CenterCropStyle.Kornia),
        NormalizeStep.Half);

    public static ClassifierPipeline LoadClassifierInProcess() =>
        ClassifierLoader.LoadVit(VitFolder, torch.CPU, preprocessing: VitPreprocessing);

    /// <summary>A ClassifierService with vit-tiny, on <paramref name="port"/> (0: any free port), serving.</summary>
    public static async Task<ServiceProcess> StartClassifierAsync(int port = 0)
    {
        var service = await ServiceProcess.StartAsync("ClassifierService", "ClassifierService",
            "--Classifier:Kind", "vit", "--Classifier:Path", VitFolder, "--Classifier:Device", "cpu",
            "--Classifier:Preprocessing:ResizeShorterSide", "40",
            // The later --urls wins over ServiceProcess's own (any free port).
            "--urls", $"http://127.0.0.1:{port}");
        return await service.ServingOrDisposedAsync(TimeSpan.FromSeconds(90));
    }

    /// <summary>A DiffusionService with sd-tiny on the CPU, one LibTorch thread (the tiny model's ops are too small to
    /// share), serving.</summary>
    public static async Task<ServiceProcess> StartDiffusionAsync()
    {
        var service = await ServiceProcess.StartAsync("DiffusionService", "DiffusionService",
            "--Diffusion:Model", RepositoryPaths.SdTiny, "--Diffusion:Device", "cpu", "--Diffusion:Threads", "1");
        return await service.ServingOrDisposedAsync(TimeSpan.FromSeconds(90));
    }
}
