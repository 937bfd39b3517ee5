using System.CommandLine;
using DiscriminativeTokens.Contracts.Channels;
using DiscriminativeTokens.Contracts.Diffusion.V1;
using DiscriminativeTokens.Imaging;
using DiscriminativeTokens.Tensors;
using Grpc.Core;

namespace DiscriminativeTokens.Cli;

/// <summary>`dct generate`: text-to-image on the diffusion service, with progress, saved as PNG files.</summary>
public static class GenerateCommand
{
    public static Command Create()
    {
        var prompt = new Argument<string>("prompt") { Description = "What to draw, e.g. \"a photo of a tiger cat\"." };
        var negative = new Option<string>("--negative") { Description = "Negative prompt.", DefaultValueFactory = _ => "" };
        var seed = new Option<ulong>("--seed") { Description = "Noise seed; image i uses seed+i.", DefaultValueFactory = _ => 0 };
        var steps = new Option<int>("--steps") { Description = "Sampler steps (0 = the service default, 30).", DefaultValueFactory = _ => 0 };
        var guidance = new Option<float>("--guidance") { Description = "Classifier-free guidance scale (0 = the service default, 7).", DefaultValueFactory = _ => 0 };
        var size = new Option<int>("--size") { Description = "Image width and height in pixels (0 = the model's own).", DefaultValueFactory = _ => 0 };
        var scheduler = new Option<string>("--scheduler") { Description = "pndm, ddim, euler or dpmpp2m (default: the model's own).", DefaultValueFactory = _ => "" };
        var images = new Option<int>("--images") { Description = "How many images.", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--out") { Description = "Folder for the PNG files.", DefaultValueFactory = _ => "dct-images" };
        var diffusion = new Option<string>("--diffusion")
        {
            Description = "Diffusion service address. Default: $DCT_DIFFUSION or http://127.0.0.1:5101.",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("DCT_DIFFUSION") is { Length: > 0 } v ? v : "http://127.0.0.1:5101",
        };
        var command = new Command("generate", "Generate images from a prompt on the diffusion service and save them as PNG files.")
        {
            prompt, negative, seed, steps, guidance, size, scheduler, images, output, diffusion,
        };
        command.SetAction(async (result, cancellation) =>
        {
            var request = new GenerateRequest
            {
                Sampling = new SamplingOptions
                {
                    Prompt = result.GetValue(prompt)!,
                    NegativePrompt = result.GetValue(negative)!,
                    Seed = result.GetValue(seed),
                    Steps = result.GetValue(steps),
                    GuidanceScale = result.GetValue(guidance),
                    Width = result.GetValue(size),
                    Height = result.GetValue(size),
                    Scheduler = result.GetValue(scheduler)!,
                },
                NumImages = result.GetValue(images),
            };
            try
            {
                using var channel = DctChannel.Create(result.GetValue(diffusion)!);
                var client = new DiffusionService.DiffusionServiceClient(channel);
                var written = await GenerateAsync(client, request, result.GetValue(output)!, cancellation);
                foreach (string path in written) Console.WriteLine(path);
                return 0;
            }
            catch (RpcException e)
            {
                Console.Error.WriteLine($"generate failed: {e.StatusCode}: {e.Status.Detail}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>Streams the generation, shows progress on stderr, and writes one PNG per image.</summary>
    public static async Task<List<string>> GenerateAsync(DiffusionService.DiffusionServiceClient client, GenerateRequest request,
                                                         string folder, CancellationToken cancellation)
    {
        var written = new List<string>();
        using var call = client.Generate(request, cancellationToken: cancellation);
        TensorMessageAssembler? assembler = null;
        try
        {
            await foreach (var e in call.ResponseStream.ReadAllAsync(cancellation))
            {
                switch (e.EventCase)
                {
                    case GenerateEvent.EventOneofCase.Warning:
                        Console.Error.WriteLine($"warning: {e.Warning.Message}");
                        break;
                    case GenerateEvent.EventOneofCase.Progress:
                        Console.Error.Write($"\rimage {e.Progress.ImageIndex + 1}: step {e.Progress.Step}/{e.Progress.TotalSteps}   ");
                        break;
                    case GenerateEvent.EventOneofCase.Image:
                        assembler ??= new TensorMessageAssembler();
                        assembler.Add(e.Image.Chunk);
                        if (e.Image.Chunk.Last)
                        {
                            var (values, shape) = TensorCodec.DecodeArray<float>(assembler.GetResult());
                            assembler.Dispose();
                            assembler = null;
                            string path = Path.Combine(folder, $"image-{e.Image.ImageIndex:D3}-seed{e.Image.Seed}.png");
                            PngWriter.Write(path, values, (int)shape[^2], (int)shape[^1]);
                            written.Add(path);
                        }
                        break;
                    case GenerateEvent.EventOneofCase.Completed:
                        Console.Error.WriteLine($"\rdone in {e.Completed.Seconds:F1} s                 ");
                        break;
                }
            }
        }
        finally
        {
            assembler?.Dispose();
        }
        return written;
    }
}
