using DiscriminativeTokens.Benchmarks;

// dotnet run -c Release --project bench/DiscriminativeTokens.Benchmarks -- codec|grpc|classifier|models|all
//                                                                   -- diffusion [tiny|sd15|all]   (not part of all: slow)
//                                                                   -- orchestrator                (not part of all: slow; DCT_BENCH_* settings)
var command = args.Length >= 1 ? args[0] : "";
switch (command)
{
    case "codec":
        CodecBenchmark.Run();
        break;
    case "grpc":
        await GrpcBenchmark.RunAsync();
        break;
    case "classifier":
        await ClassifierBenchmark.RunAsync();
        break;
    case "models":
        ModelBenchmark.Run(RepositoryRoot());
        break;
    case "diffusion" when args.Length == 1 || args[1] is "tiny" or "sd15" or "all":
        await DiffusionBenchmark.RunAsync(args.Length == 1 ? "all" : args[1]);
        break;
    case "orchestrator":
        await TrainingLoopBenchmark.RunAsync(RepositoryRoot());
        break;
    case "all":
        CodecBenchmark.Run();
        await GrpcBenchmark.RunAsync();
        await ClassifierBenchmark.RunAsync();
        ModelBenchmark.Run(RepositoryRoot());
        break;
    default:
        Console.Error.WriteLine("usage: DiscriminativeTokens.Benchmarks codec|grpc|classifier|models|all|diffusion [tiny|sd15|all]|orchestrator");
        return 2;
}

return 0;

static string RepositoryRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "DiscriminativeTokens.sln")))
            return dir.FullName;
    throw new DirectoryNotFoundException("Run the benchmarks from inside the repository (DiscriminativeTokens.sln not found).");
}
