using DiscriminativeTokens.Cli;
using DiscriminativeTokens.Contracts.Diffusion.V1;
using DiscriminativeTokens.Testing;
using SkiaSharp;

namespace DiscriminativeTokens.Tests.Cli;

/// <summary>`dct generate` against a real diffusion service process serving the tiny fixture model.</summary>
public class GenerateCommandTests
{
    [Fact]
    public async Task WritesOnePngPerImageWithTheModelsSize()
    {
        await using var service = await ServiceProcess.StartAsync("DiffusionService", "DiffusionService",
            "--Diffusion:Model", RepositoryPaths.SdTiny, "--Diffusion:Device", "cpu");
        await service.WaitForServingAsync();
        var client = new DiffusionService.DiffusionServiceClient(service.Channel);
        string folder = Path.Combine(Path.GetTempPath(), $"dct-generate-{Guid.NewGuid():N}");
        try
        {
            var request = new GenerateRequest
            {
                Sampling = new SamplingOptions { Prompt = "a photo of a cat", Seed = 5, Steps = 4 },
                NumImages = 2,
            };
            var written = await GenerateCommand.GenerateAsync(client, request, folder, CancellationToken.None);

            Assert.Equal(2, written.Count);
            Assert.EndsWith("image-000-seed5.png", written[0]);
            Assert.EndsWith("image-001-seed6.png", written[1]);
            foreach (string path in written)
            {
                using var image = SKBitmap.Decode(path);
                Assert.Equal(32, image.Width);
                Assert.Equal(32, image.Height);
            }
            // Different seeds, different pictures.
            Assert.NotEqual(File.ReadAllBytes(written[0]), File.ReadAllBytes(written[1]));
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }
}
