using System.Text;
using System.Text.Json;
using DiscriminativeTokens.Orchestration.Jobs;
using DiscriminativeTokens.Orchestration.Tokens;
using DiscriminativeTokens.Orchestration.Training;

namespace DiscriminativeTokens.Orchestrator.Tests;

public class TokenAndCheckpointFileTests
{
    private static float[] Awkward(int n, int salt) =>
        Enumerable.Range(0, n).Select(i => BitConverter.Int32BitsToSingle(0x3DCCCCCD + i * 7919 + salt) * (i % 2 == 0 ? 1 : -1)).ToArray();

    private static LearnedToken Token(float[] embedding) => new(embedding, new TokenSidecar
    {
        Placeholder = "newclas",
        ClassId = 282,
        ClassLabel = "tiger cat",
        ClassPromptName = "tiger cat",
        Classifier = new ClassifierIdentity("imagenet-vit", "http://127.0.0.1:5102", "google/vit-large-patch16-224"),
        Model = new ModelIdentity("stable-diffusion-2-1-base", "ab".PadRight(64, 'c'), embedding.Length),
        TrainingPrompts = ["A photo of newclas tiger cat"],
        Hyperparameters = new TrainingSettings { ClassId = 282, ClassPromptName = "tiger cat", Steps = 12 },
        Epochs = 7,
        StopReason = "target_accuracy",
        BestEpoch = 5,
        BestLoss = 0.4321,
        FinalAccuracy = 0.8,
        CreatedAt = new DateTimeOffset(2026, 11, 27, 4, 0, 0, TimeSpan.Zero),
    });

    [Fact]
    public void ALearnedTokenRoundTripsExactly()
    {
        using var dir = new TempDirectory();
        var token = Token(Awkward(16, 0));
        LearnedTokenFile.Write(dir.Path, token);
        var back = LearnedTokenFile.Load(dir.Path, 16, token.Sidecar.Model.TextEncoderSha256.ToUpperInvariant());
        Assert.Equal(token.Embedding, back.Embedding);
        Assert.Equal(token.Sidecar with { Hyperparameters = back.Sidecar.Hyperparameters, TrainingPrompts = back.Sidecar.TrainingPrompts }, back.Sidecar);
        Assert.Equal(token.Sidecar.Hyperparameters with { PromptTemplates = back.Sidecar.Hyperparameters.PromptTemplates }, back.Sidecar.Hyperparameters);
        Assert.Equal(token.Sidecar.Hyperparameters.PromptTemplates, back.Sidecar.Hyperparameters.PromptTemplates);
        Assert.Equal(token.Sidecar.TrainingPrompts, back.Sidecar.TrainingPrompts);
        // Loading through either file of the folder works too.
        Assert.Equal(token.Embedding, LearnedTokenFile.Read(Path.Combine(dir.Path, LearnedTokenFile.EmbeddingsFileName)).Embedding);

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, LearnedTokenFile.SidecarFileName)));
        var root = json.RootElement;
        Assert.Equal(1, root.GetProperty("format_version").GetInt32());
        Assert.Equal("tiger cat", root.GetProperty("class_label").GetString());
        Assert.Equal("google/vit-large-patch16-224", root.GetProperty("classifier").GetProperty("model_id").GetString());
        Assert.Equal(0.00125, root.GetProperty("hyperparameters").GetProperty("learning_rate").GetDouble());
        Assert.Equal("reference", root.GetProperty("hyperparameters").GetProperty("gradient_path").GetString());
    }

    [Fact]
    public void TheSafetensorsHeaderHoldsExactlyOneFloat32TensorNamedByThePlaceholder()
    {
        using var dir = new TempDirectory();
        var token = Token(Awkward(16, 3));
        LearnedTokenFile.Write(dir.Path, token);
        byte[] bytes = File.ReadAllBytes(Path.Combine(dir.Path, LearnedTokenFile.EmbeddingsFileName));
        long headerLength = BitConverter.ToInt64(bytes, 0);
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLength).TrimEnd());
        var tensors = header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__").ToList();
        var tensor = Assert.Single(tensors);
        Assert.Equal("newclas", tensor.Name);
        Assert.Equal("F32", tensor.Value.GetProperty("dtype").GetString());
        Assert.Equal([16L], tensor.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
        Assert.Equal([0L, 64L], tensor.Value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()));
        Assert.Equal(8 + headerLength + 64, bytes.Length);
        var data = new float[16];
        Buffer.BlockCopy(bytes, (int)(8 + headerLength), data, 0, 64);
        Assert.Equal(token.Embedding, data);
    }

    [Fact]
    public void LoadingIntoAModelWithAnotherHiddenSizeOrTextEncoderIsRefusedNamingBothValues()
    {
        using var dir = new TempDirectory();
        var token = Token(Awkward(16, 1));
        LearnedTokenFile.Write(dir.Path, token);
        string trained = token.Sidecar.Model.TextEncoderSha256;

        var size = Assert.Throws<InvalidDataException>(() => LearnedTokenFile.Load(dir.Path, 1024, trained));
        Assert.Contains("hidden size 16", size.Message);
        Assert.Contains("1024", size.Message);

        string other = new('f', 64);
        var hash = Assert.Throws<InvalidDataException>(() => LearnedTokenFile.Load(dir.Path, 16, other));
        Assert.Contains(trained, hash.Message);
        Assert.Contains(other, hash.Message);
    }

    [Fact]
    public void ACheckpointRoundTripsExactlyIncludingInfinitiesAndAMissingBestToken()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, CheckpointFile.FileName);
        var before = new TrainingCheckpoint
        {
            EpochsCompleted = 0, Token = Awkward(32, 5), ExpAvg = new float[32], ExpAvgSq = new float[32], OptimizerSteps = 0,
            BestLoss = double.PositiveInfinity, BestToken = null, BestEpoch = -1, EpochsWithoutImprovement = 0, LastAccuracy = 0,
            Seed = ulong.MaxValue,
        };
        CheckpointFile.Write(path, before);
        AssertSame(before, CheckpointFile.Read(path));

        var after = new TrainingCheckpoint
        {
            EpochsCompleted = 13, Token = Awkward(32, 9), ExpAvg = Awkward(32, 11), ExpAvgSq = Awkward(32, 13).Select(Math.Abs).ToArray(),
            OptimizerSteps = 13, BestLoss = 0.1 + 0.2, BestToken = Awkward(32, 17), BestEpoch = 11, EpochsWithoutImprovement = 2,
            LastAccuracy = 0.6000000000000001, Seed = 35,
        };
        CheckpointFile.Write(path, after);
        AssertSame(after, CheckpointFile.Read(path));
        // Written atomically: no temporary file left behind.
        Assert.Equal([CheckpointFile.FileName], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
        Assert.Null(CheckpointFile.TryRead(Path.Combine(dir.Path, "none.safetensors")));
    }

    private static void AssertSame(TrainingCheckpoint expected, TrainingCheckpoint actual)
    {
        Assert.Equal(expected.Token, actual.Token);
        Assert.Equal(expected.ExpAvg, actual.ExpAvg);
        Assert.Equal(expected.ExpAvgSq, actual.ExpAvgSq);
        Assert.Equal(expected.BestToken, actual.BestToken);
        Assert.Equal(BitConverter.DoubleToInt64Bits(expected.BestLoss), BitConverter.DoubleToInt64Bits(actual.BestLoss));
        Assert.Equal(BitConverter.DoubleToInt64Bits(expected.LastAccuracy), BitConverter.DoubleToInt64Bits(actual.LastAccuracy));
        Assert.Equal(expected with { Token = actual.Token, ExpAvg = actual.ExpAvg, ExpAvgSq = actual.ExpAvgSq, BestToken = actual.BestToken }, actual);
    }
}
