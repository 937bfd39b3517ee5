using System.Globalization;
using DiscriminativeTokens.Orchestration.Training;
using DiscriminativeTokens.Torch;
using TorchSharp;

namespace DiscriminativeTokens.Orchestration.Jobs;

/// <summary>
/// A <see cref="TrainingCheckpoint"/> as a safetensors file: the vectors as float32 tensors (token, exp_avg,
/// exp_avg_sq, best_token) and the scalars in the header's metadata, doubles in round-trip notation so a resumed run
/// continues bit for bit. Written to a temporary file in the same folder, flushed to disk, then renamed over the old
/// one, so a kill at any moment leaves either the previous checkpoint or the new one.
/// </summary>
public static class CheckpointFile
{
    public const string FileName = "checkpoint.safetensors";
    private const string FormatVersion = "1";

    public static void Write(string path, TrainingCheckpoint checkpoint)
    {
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "dct-training-checkpoint",
            ["format_version"] = FormatVersion,
            ["epochs_completed"] = Invariant(checkpoint.EpochsCompleted),
            ["optimizer_steps"] = Invariant(checkpoint.OptimizerSteps),
            ["best_loss"] = checkpoint.BestLoss.ToString("R", CultureInfo.InvariantCulture),
            ["best_epoch"] = Invariant(checkpoint.BestEpoch),
            ["epochs_without_improvement"] = Invariant(checkpoint.EpochsWithoutImprovement),
            ["last_accuracy"] = checkpoint.LastAccuracy.ToString("R", CultureInfo.InvariantCulture),
            ["seed"] = checkpoint.Seed.ToString(CultureInfo.InvariantCulture),
        };
        var tensors = new List<KeyValuePair<string, torch.Tensor>>
        {
            new("token", torch.tensor(checkpoint.Token, dtype: torch.float32)),
            new("exp_avg", torch.tensor(checkpoint.ExpAvg, dtype: torch.float32)),
            new("exp_avg_sq", torch.tensor(checkpoint.ExpAvgSq, dtype: torch.float32)),
        };
        if (checkpoint.BestToken is not null)
            tensors.Add(new("best_token", torch.tensor(checkpoint.BestToken, dtype: torch.float32)));
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            SafetensorsWriter.Write(path, tensors, metadata);
        }
        finally
        {
            foreach (var (_, tensor) in tensors) tensor.Dispose();
        }
    }

    /// <summary>The checkpoint at <paramref name="path"/>, or null when there is none yet.</summary>
    public static TrainingCheckpoint? TryRead(string path) => File.Exists(path) ? Read(path) : null;

    public static TrainingCheckpoint Read(string path)
    {
        using var file = new SafetensorsFile(path);
        var meta = file.Metadata;
        if (!meta.TryGetValue("format", out var format) || format != "dct-training-checkpoint")
            throw new InvalidDataException($"{path} is not a training checkpoint (no 'format' metadata).");
        if (meta.GetValueOrDefault("format_version") != FormatVersion)
            throw new InvalidDataException($"{path} has checkpoint format version '{meta.GetValueOrDefault("format_version")}'; " +
                                           $"this build reads version {FormatVersion}.");
        return new TrainingCheckpoint
        {
            EpochsCompleted = int.Parse(Required(meta, "epochs_completed", path), CultureInfo.InvariantCulture),
            OptimizerSteps = long.Parse(Required(meta, "optimizer_steps", path), CultureInfo.InvariantCulture),
            BestLoss = double.Parse(Required(meta, "best_loss", path), CultureInfo.InvariantCulture),
            BestEpoch = int.Parse(Required(meta, "best_epoch", path), CultureInfo.InvariantCulture),
            EpochsWithoutImprovement = int.Parse(Required(meta, "epochs_without_improvement", path), CultureInfo.InvariantCulture),
            LastAccuracy = double.Parse(Required(meta, "last_accuracy", path), CultureInfo.InvariantCulture),
            Seed = ulong.Parse(Required(meta, "seed", path), CultureInfo.InvariantCulture),
            Token = Vector(file, "token"),
            ExpAvg = Vector(file, "exp_avg"),
            ExpAvgSq = Vector(file, "exp_avg_sq"),
            BestToken = file.Contains("best_token") ? Vector(file, "best_token") : null,
        };
    }

    private static float[] Vector(SafetensorsFile file, string name)
    {
        using var tensor = file.Read(name);
        if (tensor.dtype != torch.float32 || tensor.dim() != 1)
            throw new InvalidDataException($"{file.Path}: '{name}' must be a float32 vector.");
        return tensor.data<float>().ToArray();
    }

    private static string Required(IReadOnlyDictionary<string, string> meta, string key, string path) =>
        meta.TryGetValue(key, out var value)
            ? value
            : throw new InvalidDataException($"{path} lacks the checkpoint field '{key}'.");

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
