using System.CommandLine;
using DiscriminativeTokens.Contracts.Channels;
using DiscriminativeTokens.Contracts.Diffusion.V1;
using DiscriminativeTokens.Contracts.Orchestrator.V1;
using DiscriminativeTokens.Imaging;
using DiscriminativeTokens.Tensors;
using Grpc.Core;

namespace DiscriminativeTokens.Cli;

/// <summary>`dct generate`: text-to-image on the diffusion service, with progress, saved as PNG files.</summary>
public static class GenerateCommand
{
    public static Command Create()
    {
        var prompt = new Argument<string>("prompt")
        {
            Description = "What to draw, e.g. \"a photo of a tiger cat\". With --job, {token} and {class} stand for the learned " +
                          "token and the class [\"A photo of {token} {class}\"].",
            Arity = ArgumentArity.ZeroOrOne,
            DefaultValueFactory = _ => "",
        };
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
        var job = new Option<string?>("--job")
        {
            Description = "Generate with the learned token of this succeeded training job, through the orchestrator " +
                          "(on the job's diffusion service, which must have the same text encoder).",
        };
        var orchestrator = CliOptions.Orchestrator();
        var command = new Command("generate", "Generate images from a prompt on the diffusion service, or with a learned token " +
                                              "through the orchestrator (--job), and save them as PNG files.")
        {
            prompt, negative, seed, steps, guidance, size, scheduler, images, output, diffusion, job, orchestrator,
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
                List<string> written;
                if (result.GetValue(job) is { Length: > 0 } jobId)
                {
                    using var channel = DctChannel.Create(result.GetValue(orchestrator)!);
                    var client = new OrchestratorService.OrchestratorServiceClient(channel);
                    var withToken = new GenerateWithTokenRequest { TrainingJobId = jobId, Sampling = request.Sampling, NumImages = request.NumImages };
                    using var call = client.GenerateWithToken(withToken, cancellationToken: cancellation);
                    written = await SaveAsync(call.ResponseStream, result.GetValue(output)!, cancellation);
                }
                else
                {
                    if (request.Sampling.Prompt.Length == 0)
                    {
                        Console.Error.WriteLine("Give a prompt (or --job to generate with a learned token).");
                        return 2;
                    }
                    using var channel = DctChannel.Create(result.GetValue(diffusion)!);
                    var client = new DiffusionService.DiffusionServiceClient(channel);
                    written = await GenerateAsync(client, request, result.GetValue(output)!, cancellation);
                }
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

    /// <summary>Runs a generation on the diffusion service and saves its images (see <see cref="SaveAsync"/>).</summary>
    public static async Task<List<string>> GenerateAsync(DiffusionService.DiffusionServiceClient client, GenerateRequest request,
                                                         string folder, CancellationToken cancellation)
    {
        using var call = client.Generate(request, cancellationToken: cancellation);
        return await SaveAsync(call.ResponseStream, folder, cancellation);
    }

    /// <summary>Shows a generation stream's progress on stderr and writes one PNG per image.</summary>
    public static async Task<List<string>> SaveAsync(IAsyncStreamReader<GenerateEvent> events, string folder, CancellationToken cancellation)
    {
        var written = new List<string>();
        TensorMessageAssembler? assembler = null;
        try
        {
            await foreach (var e in events.ReadAllAsync(cancellation))
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
