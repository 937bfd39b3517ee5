using DiscriminativeTokens.Diffusion.Models.TextEncoder;
using DiscriminativeTokens.Testing;
using DiscriminativeTokens.Torch;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Tests.Models;

/// <summary>
/// CLIPTextModel against transformers 4.26 (reference/text_encoder.safetensors). Tolerance for every forward tensor:
/// max abs error &lt;= 1e-4 · max(1, max |reference|).
/// </summary>
public sealed class ClipTextModelTests(ITestOutputHelper output)
{
    private const long PlaceholderId = 49408;   // 'newclas', one past the base vocabulary
    private const long InitializerId = 320;     // 'a</w>'

    private static string Folder => Path.Combine(RepositoryPaths.SdTiny, "text_encoder");

    [Fact]
    public void LastHiddenStateMatchesTransformers()
    {
        using var model = ClipTextModel.Load(Folder, CPU);
        using var reference = new SafetensorsFile(RepositoryPaths.SdTinyReference("text_encoder.safetensors"));
        using var ids = reference.Read("input_ids");
        using var expected = reference.Read("last_hidden_state");
        using var _ = no_grad();
        using var actual = model.forward(ids);
        Parity.AssertClose(actual, expected, "last_hidden_state", output);
    }

    [Fact]
    public void TokenOverrideReproducesAnAddedEmbeddingRow()
    {
        // Upstream resized the embedding matrix and copied row 320 into the new row 49408; the override gives the
        // same inputs without touching the matrix.
        using var model = ClipTextModel.Load(Folder, CPU);
        using var reference = new SafetensorsFile(RepositoryPaths.SdTinyReference("text_encoder.safetensors"));
        using var ids = reference.Read("added/input_ids");
        using var placeholder = reference.Read("added/placeholder_embedding");
        using var expected = reference.Read("added/last_hidden_state");
        Assert.True(ids.eq(PlaceholderId).any().item<bool>(), "the reference ids use the placeholder");
        using (var row = model.TokenEmbeddingWeight[InitializerId])
            Assert.Equal(0.0, Parity.MaxAbsError(row, placeholder.reshape(-1)));

        using var _ = no_grad();
        using var actual = model.Forward(ids, new TokenEmbeddingOverride(PlaceholderId, placeholder));
        Parity.AssertClose(actual, expected, "added/last_hidden_state", output);
    }

    [Fact]
    public void UnpaddedTrainingIdsGiveThePrefixOfThePaddedResult()
    {
        // The reference training feeds 7..11 unpadded ids; with the causal mask they must equal the first L positions
        // of the 77-token run of the same prompt ("A photo of newclas cat" is row 11 of the added references).
        using var model = ClipTextModel.Load(Folder, CPU);
        using var tokens = new SafetensorsFile(RepositoryPaths.SdTinyReference("tokenizer.safetensors"));
        using var reference = new SafetensorsFile(RepositoryPaths.SdTinyReference("text_encoder.safetensors"));
        using var ids = tokens.Read("dct/prompt0_input_ids");
        long length = ids.shape[1];
        using var paddedIds = reference.Read("added/input_ids");
        Assert.True(paddedIds[11].narrow(0, 0, length).equal(ids[0]).all().item<bool>());
        using var placeholder = reference.Read("added/placeholder_embedding");
        using var expected = reference.Read("added/last_hidden_state")[11].narrow(0, 0, length).unsqueeze(0);

        using var _ = no_grad();
        using var actual = model.Forward(ids, new TokenEmbeddingOverride(PlaceholderId, placeholder));
        Parity.AssertClose(actual, expected, $"added/last_hidden_state[11, :{length}]", output);
    }

    [Fact]
    public void GradientReachesTheOverrideVectorOnly()
    {
        using var model = ClipTextModel.Load(Folder, CPU);
        var parameters = model.parameters().ToList();
        Assert.NotEmpty(parameters);
        Assert.All(parameters, p => Assert.False(p.requires_grad));

        using var tokens = new SafetensorsFile(RepositoryPaths.SdTinyReference("tokenizer.safetensors"));
        using var ids = tokens.Read("dct/prompt2_input_ids");
        using var vector = model.TokenEmbeddingWeight[InitializerId].detach().clone().requires_grad_();
        using var hidden = model.Forward(ids, new TokenEmbeddingOverride(PlaceholderId, vector));
        using var loss = hidden.square().sum();
        loss.backward();

        Assert.NotNull(vector.grad);
        Assert.True(vector.grad!.abs().sum().item<float>() > 0, "the override vector received no gradient");
        Assert.All(model.parameters(), p => Assert.Null(p.grad));
    }

    [Fact]
    public void OverridingAnExistingTokenWithItsOwnRowChangesNothing()
    {
        using var model = ClipTextModel.Load(Folder, CPU);
        using var reference = new SafetensorsFile(RepositoryPaths.SdTinyReference("text_encoder.safetensors"));
        using var ids = reference.Read("input_ids").narrow(0, 0, 2);
        using var _ = no_grad();
        using var plain = model.forward(ids);
        using var row = model.TokenEmbeddingWeight[InitializerId].clone();
        using var overridden = model.Forward(ids, new TokenEmbeddingOverride(InitializerId, row));
        Assert.Equal(0.0, Parity.MaxAbsError(overridden, plain));
        // A different vector changes the output (not a uniform shift: every LayerNorm would remove it).
        using var shifted = model.Forward(ids, new TokenEmbeddingOverride(InitializerId, row.flip(0)));
        Assert.True(Parity.MaxAbsError(shifted, plain) > 1e-3);
    }

    [Fact]
    public void IdsOutsideTheVocabularyWithoutOverrideAreRefused()
    {
        using var model = ClipTextModel.Load(Folder, CPU);
        using var ids = tensor(new long[] { 49406, PlaceholderId, 49407 }).unsqueeze(0);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => model.forward(ids));
        Assert.Contains(PlaceholderId.ToString(), error.Message);
    }

    [Fact]
    public void SequencesLongerThanThePositionTableAreRefused()
    {
        using var model = ClipTextModel.Load(Folder, CPU);
        using var ids = zeros(1, 78, ScalarType.Int64);
        var error = Assert.Throws<ArgumentException>(() => model.forward(ids));
        Assert.Contains("max_position_embeddings", error.Message);
    }

    [Fact]
    public void WeightsHashIsStableAndSensitive()
    {
        using var first = ClipTextModel.Load(Folder, CPU);
        using var second = ClipTextModel.Load(Folder, CPU);
        string hash = first.ComputeWeightsSha256();
        Assert.Matches("^[0-9a-f]{64}$", hash);
        Assert.Equal(hash, second.ComputeWeightsSha256());
        using (no_grad())
            second.TokenEmbeddingWeight[5, 3].add_(1e-3);
        Assert.NotEqual(hash, second.ComputeWeightsSha256());
    }
}
