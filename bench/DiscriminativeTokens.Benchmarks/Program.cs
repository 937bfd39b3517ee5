using DiscriminativeTokens.Benchmarks;

// dotnet run -c Release --project bench/DiscriminativeTokens.Benchmarks -- codec|grpc|classifier|all
var command = args.Length == 1 ? args[0] : "";
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
    case "all":
        CodecBenchmark.Run();
        await GrpcBenchmark.RunAsync();
        await ClassifierBenchmark.RunAsync();
        break;
    default:
        Console.Error.WriteLine("usage: DiscriminativeTokens.Benchmarks codec|grpc|classifier|all");
        return 2;
}

return 0;
