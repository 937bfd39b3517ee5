using System.Text.Json;
using DiscriminativeTokens.Diffusion.Text;
using DiscriminativeTokens.Testing;
using DiscriminativeTokens.Torch;
using TorchSharp;

namespace DiscriminativeTokens.Diffusion.Tests.Text;

/// <summary>
/// Token ids against reference/tokenizer.safetensors, made by transformers 4.26's CLIPTokenizer with ftfy 6.1.1 on the
/// fixture's tokenizer/ folder. Ids are compared exactly.
/// </summary>
public sealed class ClipTokenizerParityTests : IDisposable
{
    private const int PlaceholderId = 49408;
    private const int InitializerId = 320; // 'a</w>'

    private readonly SafetensorsFile _reference = new(RepositoryPaths.SdTinyReference("tokenizer.safetensors"));
    private readonly ClipTokenizer _tokenizer = ClipTokenizer.FromFolder(Path.Combine(RepositoryPaths.SdTiny, "tokenizer"));

    public void Dispose() => _reference.Dispose();

    private string[] Metadata(string key) => JsonSerializer.Deserialize<string[]>(_reference.Metadata[key])!;

    private long[][] Rows(string name)
    {
        using torch.Tensor t = _reference.Read(name);
        Assert.Equal(torch.ScalarType.Int64, t.dtype);
        long rows = t.shape[0], columns = t.shape[1];
        long[] flat = t.data<long>().ToArray();
        return Enumerable.Range(0, (int)rows).Select(r => flat.AsSpan((int)(r * columns), (int)columns).ToArray()).ToArray();
    }

    private long[] Vector(string name)
    {
        using torch.Tensor t = _reference.Read(name);
        return t.data<long>().ToArray();
    }

    private static void AssertIds(long[] expected, IReadOnlyList<int> actual, string what, ClipTokenizer tokenizer)
    {
        long[] actualIds = actual.Select(i => (long)i).ToArray();
        if (!expected.SequenceEqual(actualIds))
            Assert.Fail($"{what}:\n expected [{string.Join(", ", expected)}]\n actual   [{string.Join(", ", actualIds)}]\n" +
                        $" actual tokens: {string.Join(" ", actual.Select(tokenizer.GetToken))}");
    }

    [Fact]
    public void PaddedIdsMaskAndLengthsMatchReference()
    {
        string[] prompts = Metadata("prompts");
        long[][] ids = Rows("input_ids");
        long[][] masks = Rows("attention_mask");
        long[] lengths = Vector("lengths");
        Assert.Equal(13, prompts.Length);
        Assert.Equal(prompts.Length, ids.Length);
        for (int i = 0; i < prompts.Length; i++)
        {
            TokenizedText encoded = _tokenizer.Encode(prompts[i]);
            AssertIds(ids[i], encoded.InputIds, $"row {i} \"{prompts[i]}\"", _tokenizer);
            AssertIds(masks[i], encoded.AttentionMask, $"attention mask of row {i}", _tokenizer);
            Assert.Equal(lengths[i], encoded.Length);
        }
    }

    [Fact]
    public void TokenStringsMatchReference()
    {
        string[] prompts = Metadata("prompts");
        string[][] tokens = JsonSerializer.Deserialize<string[][]>(_reference.Metadata["tokens"])!;
        for (int i = 0; i < prompts.Length; i++)
        {
            TokenizedText encoded = _tokenizer.Encode(prompts[i], TokenPadding.None);
            Assert.Equal(tokens[i], encoded.InputIds.Select(_tokenizer.GetToken).ToArray());
        }
    }

    [Fact]
    public void OverlongPromptIsTruncatedTo75TokensBetweenBosAndEos()
    {
        TokenizedText encoded = _tokenizer.Encode(Metadata("prompts")[9]);
        Assert.Equal(77, encoded.Length);
        Assert.True(encoded.WasTruncated);
        Assert.Equal(_tokenizer.EosTokenId, encoded.InputIds[76]);
        Assert.False(_tokenizer.Encode("a photo of a cat").WasTruncated);
    }

    [Fact]
    public void AddedPlaceholderMatchesReference()
    {
        ClipTokenizer withPlaceholder = _tokenizer.WithAddedToken(ClipTokenizer.ReferencePlaceholder);
        Assert.Equal(Vector("added/placeholder_token_id")[0], withPlaceholder.GetTokenId("newclas"));
        Assert.Equal(PlaceholderId, withPlaceholder.GetTokenId("newclas"));
        Assert.Equal(49409, withPlaceholder.VocabularySize);
        Assert.Equal(Vector("added/initializer_token_id")[0], withPlaceholder.EncodeToIds("a").Single());
        Assert.Equal(InitializerId, withPlaceholder.EncodeToIds("a").Single());
        // The original tokenizer is unchanged.
        Assert.False(_tokenizer.TryGetTokenId("newclas", out _));
        Assert.Equal(49408, _tokenizer.VocabularySize);

        AssertAddedRowsMatch(withPlaceholder);
    }

    [Fact]
    public void FolderWithAddedTokensJsonMatchesReference()
    {
        // reference/dct_tokenizer holds what save_pretrained writes after add_tokens; vocab.json and merges.txt are
        // omitted there because they equal tokenizer/'s.
        string folder = Path.Combine(Path.GetTempPath(), $"dct-tokenizer-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            foreach (string name in new[] { "vocab.json", "merges.txt" })
                File.Copy(Path.Combine(RepositoryPaths.SdTiny, "tokenizer", name), Path.Combine(folder, name));
            foreach (string file in Directory.GetFiles(RepositoryPaths.SdTinyReference("dct_tokenizer")))
                File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));

            ClipTokenizer loaded = ClipTokenizer.FromFolder(folder);
            Assert.Equal([new KeyValuePair<string, int>("newclas", PlaceholderId)], loaded.AddedTokens);
            AssertAddedRowsMatch(loaded);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private void AssertAddedRowsMatch(ClipTokenizer tokenizer)
    {
        string[] prompts = Metadata("prompts");
        long[][] ids = Rows("added/input_ids");
        long[] lengths = Vector("added/lengths");
        string[][] tokens = JsonSerializer.Deserialize<string[][]>(_reference.Metadata["added_tokens"])!;
        for (int i = 0; i < prompts.Length; i++)
        {
            TokenizedText encoded = tokenizer.Encode(prompts[i]);
            AssertIds(ids[i], encoded.InputIds, $"added row {i} \"{prompts[i]}\"", tokenizer);
            Assert.Equal(lengths[i], encoded.Length);
            Assert.Equal(tokens[i], tokenizer.Encode(prompts[i], TokenPadding.None).InputIds.Select(tokenizer.GetToken).ToArray());
        }
    }

    [Fact]
    public void AddedTokenIsCutFromRawTextCaseSensitivelyAndEndsTheWordBeforeIt()
    {
        ClipTokenizer tokenizer = _tokenizer.WithAddedToken("newclas");
        // Row 12 of the reference: "a newclass of newclas, NEWCLAS and xnewclasx".
        string[] tokens = tokenizer.Encode("a newclass of newclas, NEWCLAS and xnewclasx", TokenPadding.None)
                                   .InputIds.Select(tokenizer.GetToken).ToArray();
        Assert.Equal(
            ["<|startoftext|>", "a</w>", "newclas", "s</w>", "of</w>", "newclas", ",</w>", "new", "cla", "s</w>",
             "and</w>", "x</w>", "newclas", "x</w>", "<|endoftext|>"],
            tokens);
    }

    [Fact]
    public void DctTrainingTokenizationMatchesReference()
    {
        ClipTokenizer tokenizer = _tokenizer.WithAddedToken(ClipTokenizer.ReferencePlaceholder);
        string[] prompts = Metadata("dct_prompts");
        Assert.Equal(3, prompts.Length);
        for (int k = 0; k < prompts.Length; k++)
        {
            // run.py: the prompt unpadded, the unconditional "" padded to the prompt's length.
            TokenizedText conditional = tokenizer.Encode(prompts[k], TokenPadding.None);
            TokenizedText unconditional = tokenizer.Encode("", TokenPadding.ToLength(conditional.InputIds.Count));
            AssertIds(Rows($"dct/prompt{k}_input_ids")[0], conditional.InputIds, $"dct prompt {k}", tokenizer);
            AssertIds(Rows($"dct/prompt{k}_uncond_input_ids")[0], unconditional.InputIds, $"dct uncond {k}", tokenizer);
            Assert.Equal(2, unconditional.Length);
        }
    }

    [Fact]
    public void StacksIdsIntoInt64Tensor()
    {
        string[] prompts = Metadata("prompts");
        TokenizedText[] encoded = prompts.Select(p => _tokenizer.Encode(p)).ToArray();
        using torch.Tensor ids = TokenizedText.StackInputIds(encoded, torch.CPU);
        using torch.Tensor mask = TokenizedText.StackAttentionMasks(encoded, torch.CPU);
        using torch.Tensor expectedIds = _reference.Read("input_ids");
        using torch.Tensor expectedMask = _reference.Read("attention_mask");
        Assert.Equal(torch.ScalarType.Int64, ids.dtype);
        Assert.Equal(expectedIds.shape, ids.shape);
        Assert.True(expectedIds.equal(ids).all().item<bool>());
        Assert.True(expectedMask.equal(mask).all().item<bool>());
        Assert.Throws<ArgumentException>(() => TokenizedText.StackInputIds(
            [_tokenizer.Encode("a", TokenPadding.None), _tokenizer.Encode("a cat", TokenPadding.None)], torch.CPU));
    }
}
