using DiscriminativeTokens.Diffusion.Text;
using DiscriminativeTokens.Testing;

namespace DiscriminativeTokens.Diffusion.Tests.Text;

/// <summary>Placeholder registration, padding modes, the folder's pad token and decoding.</summary>
public sealed class ClipTokenizerBehaviourTests
{
    private static readonly string TokenizerFolder = Path.Combine(RepositoryPaths.SdTiny, "tokenizer");
    private readonly ClipTokenizer _tokenizer = ClipTokenizer.FromFolder(TokenizerFolder);

    [Theory]
    [InlineData("cat")] // 'cat</w>' is one token: the placeholder would hijack the word
    [InlineData("new")] // 'new' is one (word-initial) token
    [InlineData("<|endoftext|>")]
    public void RefusesPlaceholderThatIsAlreadyOneToken(string placeholder)
    {
        var error = Assert.Throws<ArgumentException>(() => _tokenizer.WithAddedToken(placeholder));
        Assert.Contains(placeholder, error.Message);
        Assert.Contains("already", error.Message);
    }

    [Theory]
    [InlineData("new clas")]
    [InlineData("newclas\t")]
    [InlineData("new\u3000clas")]
    public void RefusesPlaceholderWithWhitespace(string placeholder)
    {
        var error = Assert.Throws<ArgumentException>(() => _tokenizer.WithAddedToken(placeholder));
        Assert.Contains("whitespace", error.Message);
    }

    [Fact]
    public void RefusesAddingTheSamePlaceholderTwice()
    {
        ClipTokenizer once = _tokenizer.WithAddedToken("newclas");
        Assert.Throws<ArgumentException>(() => once.WithAddedToken("newclas"));
        ClipTokenizer twice = once.WithAddedToken("othertok");
        Assert.Equal(49409, twice.GetTokenId("othertok"));
    }

    [Fact]
    public void PaddingModes()
    {
        TokenizedText unpadded = _tokenizer.Encode("a photo of a cat", TokenPadding.None);
        Assert.Equal([49406, 320, 1125, 539, 320, 2368, 49407], unpadded.InputIds);
        Assert.All(unpadded.AttentionMask, m => Assert.Equal(1, m));

        TokenizedText toTen = _tokenizer.Encode("a photo of a cat", TokenPadding.ToLength(10));
        Assert.Equal([49406, 320, 1125, 539, 320, 2368, 49407, 49407, 49407, 49407], toTen.InputIds);
        Assert.Equal([1, 1, 1, 1, 1, 1, 1, 0, 0, 0], toTen.AttentionMask);
        Assert.Equal(7, toTen.Length);

        Assert.Equal(77, _tokenizer.Encode("").InputIds.Count);
        Assert.Throws<ArgumentException>(() => _tokenizer.Encode("a photo of a cat", TokenPadding.ToLength(6)));
        Assert.Throws<ArgumentException>(() => _tokenizer.Encode("", TokenPadding.ToLength(78)));
        Assert.Throws<ArgumentOutOfRangeException>(() => TokenPadding.ToLength(1));
    }

    [Fact]
    public void SpecialTokenStringsInTheTextAreNeverSplit()
    {
        // transformers cuts every special token string out of the raw text; in lower case CLIP's own word pattern
        // also reads them as one token, in upper case they are ordinary (lower-cased) text only when not exact.
        Assert.Equal([320, 49407, 2368], _tokenizer.EncodeToIds("a<|endoftext|>cat"));
        Assert.Equal([49406], _tokenizer.EncodeToIds("<|startoftext|>"));
    }

    [Fact]
    public void PadTokenComesFromTheFolder()
    {
        Assert.Equal("<|endoftext|>", _tokenizer.PadToken);
        Assert.Equal(49407, _tokenizer.PadTokenId);

        // Stable Diffusion 2.x's tokenizer folder says pad_token "!" (id 0). transformers then also treats "!" as a
        // never-split special token, so each "!" of a prompt is the token 0 on its own (diffusers issue #4153 shows
        // "! !! !!!" -> 49406, 0, 0, 0, 0, 0, 0, 49407, 0, ...).
        string folder = CopyTokenizerFolder();
        try
        {
            File.WriteAllText(Path.Combine(folder, "special_tokens_map.json"),
                              """{"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "!", "unk_token": "<|endoftext|>"}""");
            ClipTokenizer sd2 = ClipTokenizer.FromFolder(folder);
            Assert.Equal(0, sd2.PadTokenId);
            TokenizedText encoded = sd2.Encode("! !! !!!");
            Assert.Equal([49406, 0, 0, 0, 0, 0, 0, 49407], encoded.InputIds.Take(8));
            Assert.All(encoded.InputIds.Skip(8), id => Assert.Equal(0, id));
            Assert.Equal(8, encoded.Length);
            Assert.Equal([1, 1, 1, 1, 1, 1, 1, 1, 0], encoded.AttentionMask.Take(9));
            // The SD 1.x folder keeps "!!!" as one token.
            Assert.Equal([995], _tokenizer.EncodeToIds("!!!"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void MissingOrUnusableModelMaxLengthIsAClearError()
    {
        string folder = CopyTokenizerFolder();
        try
        {
            File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), """{"model_max_length": 1e30}""");
            var error = Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromFolder(folder));
            Assert.Contains("model_max_length", error.Message);
            Assert.Contains("1e30", error.Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void AddedTokensJsonMustContinueTheVocabulary()
    {
        string folder = CopyTokenizerFolder();
        try
        {
            File.WriteAllText(Path.Combine(folder, "added_tokens.json"), """{"newclas": 49410}""");
            var error = Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromFolder(folder));
            Assert.Contains("49408", error.Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void DecodeForDebugging()
    {
        ClipTokenizer tokenizer = _tokenizer.WithAddedToken("newclas");
        TokenizedText encoded = tokenizer.Encode("A photo of newclas café, 東京 🐱!");
        // "🐱!" is one word: neither is a letter or a digit.
        Assert.Equal("a photo of newclas café , 東京 🐱!", tokenizer.Decode(encoded.InputIds, skipSpecialTokens: true));
        Assert.StartsWith("<|startoftext|> a photo of newclas", tokenizer.Decode(encoded.InputIds));
    }

    private static string CopyTokenizerFolder()
    {
        string folder = Path.Combine(Path.GetTempPath(), $"clip-tokenizer-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        foreach (string file in Directory.GetFiles(TokenizerFolder))
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        return folder;
    }
}
