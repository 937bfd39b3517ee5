using System.Text;
using Microsoft.ML.Tokenizers;

namespace DiscriminativeTokens.Diffusion.Text;

/// <summary>
/// The CLIP tokenizer of Stable Diffusion, token for token as transformers' (4.26) CLIPTokenizer with ftfy installed:
/// special and added token strings are cut out of the raw text first (case-sensitively, even inside words); every
/// other piece is normalized (<see cref="ClipTextNormalizer"/>), split into words (<see cref="ClipPreTokenizer"/>) and
/// byte-level BPE encoded with "&lt;/w&gt;" marking the end of a word; then BOS/EOS, truncation to model_max_length
/// and padding with the folder's pad token.
/// Instances are immutable and thread-safe; <see cref="WithAddedToken"/> returns a new tokenizer that shares the
/// BPE model with this one.
/// </summary>
public sealed class ClipTokenizer
{
    /// <summary>The placeholder token of the DCT reference (run.py).</summary>
    public const string ReferencePlaceholder = "newclas";

    private const string EndOfWord = "</w>";

    private readonly BpeTokenizer _bpe;
    private readonly IReadOnlyDictionary<string, int> _vocabulary;
    private readonly string[] _baseTokens; // id -> token string of vocab.json
    private readonly List<string> _addedTokens; // in id order, from id _baseTokens.Length on
    private readonly Dictionary<string, int> _addedTokenIds;
    private readonly HashSet<string> _specialTokens;
    private readonly HashSet<int> _specialTokenIds;
    private readonly NoSplitTokenMatcher _noSplit;

    private ClipTokenizer(
        BpeTokenizer bpe, IReadOnlyDictionary<string, int> vocabulary, string[] baseTokens, int modelMaxLength,
        string bosToken, string eosToken, string unknownToken, string padToken, HashSet<string> specialTokens,
        List<string> addedTokens)
    {
        _bpe = bpe;
        _vocabulary = vocabulary;
        _baseTokens = baseTokens;
        ModelMaxLength = modelMaxLength;
        BosToken = bosToken;
        EosToken = eosToken;
        UnknownToken = unknownToken;
        PadToken = padToken;
        _specialTokens = specialTokens;
        _addedTokens = addedTokens;
        _addedTokenIds = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < addedTokens.Count; i++)
            _addedTokenIds[addedTokens[i]] = baseTokens.Length + i;
        BosTokenId = RequireId(bosToken, "bos_token");
        EosTokenId = RequireId(eosToken, "eos_token");
        PadTokenId = RequireId(padToken, "pad_token");
        _specialTokenIds = specialTokens.Select(t => RequireId(t, "special token")).ToHashSet();
        // transformers never splits any special token string (bos, eos, unk, pad, additional), nor added tokens.
        // With SD 2.x's pad token "!" this means every "!" of a prompt becomes the token "!" (id 0) on its own.
        _noSplit = new NoSplitTokenMatcher(specialTokens.Concat(addedTokens));
    }

    /// <summary>
    /// Loads the tokenizer of a diffusers `tokenizer/` folder: vocab.json, merges.txt, tokenizer_config.json
    /// (model_max_length, special tokens), special_tokens_map.json and, if present, added_tokens.json.
    /// </summary>
    public static ClipTokenizer FromFolder(string folder)
    {
        ClipTokenizerFiles files = ClipTokenizerFiles.Read(folder);
        var baseTokens = new string[files.Vocabulary.Count];
        foreach ((string token, int id) in files.Vocabulary)
        {
            if (id >= baseTokens.Length || baseTokens[id] is not null)
                throw new InvalidDataException($"{folder}/vocab.json: ids must be 0..{baseTokens.Length - 1}, each once; " +
                                               $"token '{token}' has id {id}.");
            baseTokens[id] = token;
        }

        // CLIP's word pattern and BPE cache know these two strings: a word spelled like one of them is that token.
        var bpeSpecials = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string special in new[] { "<|startoftext|>", "<|endoftext|>" })
            if (files.Vocabulary.TryGetValue(special, out int id))
                bpeSpecials[special] = id;

        BpeTokenizer bpe;
        try
        {
            bpe = BpeTokenizer.Create(new BpeOptions(files.Vocabulary)
            {
                Merges = files.Merges.Select(m => m.First + " " + m.Second),
                PreTokenizer = ClipPreTokenizer.Instance,
                Normalizer = ClipTextNormalizer.Instance,
                EndOfWordSuffix = EndOfWord,
                ByteLevel = true,
                SpecialTokens = bpeSpecials,
                UnknownToken = files.Vocabulary.ContainsKey(files.UnknownToken) ? files.UnknownToken : null,
            });
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidDataException($"{folder}: vocab.json and merges.txt do not form a BPE model: {e.Message}", e);
        }

        var specialTokens = new HashSet<string>(StringComparer.Ordinal)
            { files.BosToken, files.EosToken, files.UnknownToken, files.PadToken };
        specialTokens.UnionWith(files.AdditionalSpecialTokens);

        var tokenizer = new ClipTokenizer(bpe, files.Vocabulary, baseTokens, files.ModelMaxLength, files.BosToken,
                                          files.EosToken, files.UnknownToken, files.PadToken, specialTokens, []);
        foreach ((string token, int id) in files.AddedTokens)
        {
            if (id != tokenizer.VocabularySize)
                throw new InvalidDataException($"{folder}/added_tokens.json: added token '{token}' has id {id}, but added " +
                                               $"tokens must continue the vocabulary without gaps (next id {tokenizer.VocabularySize}).");
            tokenizer = tokenizer.AddToken(token, asPlaceholder: false);
        }
        return tokenizer;
    }

    /// <summary>model_max_length from tokenizer_config.json: the padded length, and the truncation limit incl. BOS/EOS.</summary>
    public int ModelMaxLength { get; }

    public string BosToken { get; }
    public string EosToken { get; }
    public string UnknownToken { get; }
    public string PadToken { get; }
    public int BosTokenId { get; }
    public int EosTokenId { get; }
    public int PadTokenId { get; }

    /// <summary>vocab.json plus the added tokens: the number of rows the text encoder's embedding needs.</summary>
    public int VocabularySize => _baseTokens.Length + _addedTokens.Count;

    /// <summary>The added tokens and their ids, in id order.</summary>
    public IReadOnlyList<KeyValuePair<string, int>> AddedTokens =>
        _addedTokens.Select((t, i) => new KeyValuePair<string, int>(t, _baseTokens.Length + i)).ToList();

    /// <summary>
    /// A tokenizer that also knows <paramref name="placeholder"/> as one token with the next id, never split and
    /// matched case-sensitively anywhere in the raw text (transformers' add_tokens). Refuses strings that are
    /// already one token (then the new token would silently replace existing uses) and strings with whitespace.
    /// </summary>
    public ClipTokenizer WithAddedToken(string placeholder) => AddToken(placeholder, asPlaceholder: true);

    private ClipTokenizer AddToken(string token, bool asPlaceholder)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (token.Length == 0)
            throw new ArgumentException("An added token cannot be empty.", nameof(token));
        if (_addedTokenIds.ContainsKey(token) || _specialTokens.Contains(token))
            throw new ArgumentException($"The tokenizer already has the token '{token}' (id {GetTokenId(token)}); " +
                                        "choose a placeholder string it does not know.", nameof(token));
        if (asPlaceholder)
        {
            if (token.Any(c => char.IsWhiteSpace(c) || WhitespaceClean.IsWhiteSpace(c)))
                throw new ArgumentException($"The placeholder '{token}' contains whitespace; it must be one word.", nameof(token));
            // Also refuse a whole-word token ("cat" -> "cat</w>"): every "cat" of a prompt would become the placeholder.
            if (_vocabulary.TryGetValue(token, out int id) || _vocabulary.TryGetValue(token + EndOfWord, out id))
                throw new ArgumentException($"'{token}' is already a single token of the vocabulary (id {id}, " +
                                            $"'{_baseTokens[id]}'); a placeholder must be a new string such as " +
                                            $"'{ReferencePlaceholder}'.", nameof(token));
        }
        else if (_vocabulary.ContainsKey(token))
        {
            throw new ArgumentException($"The added token '{token}' is already in vocab.json.", nameof(token));
        }
        return new ClipTokenizer(_bpe, _vocabulary, _baseTokens, ModelMaxLength, BosToken, EosToken, UnknownToken,
                                 PadToken, _specialTokens, [.. _addedTokens, token]);
    }

    public bool TryGetTokenId(string token, out int id) =>
        _addedTokenIds.TryGetValue(token, out id) || _vocabulary.TryGetValue(token, out id);

    /// <summary>The id of a token string as the vocabulary spells it (e.g. "a&lt;/w&gt;", or an added "newclas").</summary>
    public int GetTokenId(string token) =>
        TryGetTokenId(token, out int id)
            ? id
            : throw new KeyNotFoundException($"'{token}' is not a token of this tokenizer (word-final tokens end in \"{EndOfWord}\").");

    /// <summary>The token string of an id.</summary>
    public string GetToken(int id)
    {
        if (id >= 0 && id < _baseTokens.Length)
            return _baseTokens[id];
        int added = id - _baseTokens.Length;
        if (added >= 0 && added < _addedTokens.Count)
            return _addedTokens[added];
        throw new ArgumentOutOfRangeException(nameof(id), id, $"Token ids are 0..{VocabularySize - 1}.");
    }

    /// <summary>The token ids of <paramref name="text"/> without BOS/EOS, truncation or padding.</summary>
    public IReadOnlyList<int> EncodeToIds(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        foreach ((string piece, bool isToken) in _noSplit.Split(text))
        {
            if (isToken)
                ids.Add(GetTokenId(piece));
            else
                ids.AddRange(_bpe.EncodeToIds(piece));
        }
        return ids;
    }

    /// <summary>BOS + tokens + EOS, truncated to model_max_length and padded to it.</summary>
    public TokenizedText Encode(string text) => Encode(text, TokenPadding.ModelMaxLength);

    /// <summary>BOS + tokens + EOS, truncated to model_max_length, then padded as <paramref name="padding"/> says.</summary>
    public TokenizedText Encode(string text, TokenPadding padding)
    {
        ArgumentNullException.ThrowIfNull(padding);
        IReadOnlyList<int> tokens = EncodeToIds(text);
        int kept = Math.Min(tokens.Count, ModelMaxLength - 2);
        int length = kept + 2;
        int paddedLength = padding.ToModelMaxLength ? ModelMaxLength : padding.Length ?? length;
        if (paddedLength > ModelMaxLength)
            throw new ArgumentException($"Cannot pad to {paddedLength} tokens: model_max_length is {ModelMaxLength}.", nameof(padding));
        if (length > paddedLength)
            throw new ArgumentException($"The text needs {length} tokens with BOS and EOS, more than the {paddedLength} " +
                                        $"it should be padded to: \"{text}\".", nameof(padding));
        var ids = new int[paddedLength];
        ids[0] = BosTokenId;
        for (int i = 0; i < kept; i++)
            ids[i + 1] = tokens[i];
        ids[kept + 1] = EosTokenId;
        Array.Fill(ids, PadTokenId, length, paddedLength - length);
        return new TokenizedText(ids, length, tokens.Count - kept);
    }

    /// <summary>
    /// Text of token ids, for debugging: byte-level tokens are decoded, "&lt;/w&gt;" becomes a space, special and
    /// added tokens appear as written, separated by spaces (transformers' decode without its clean-up of spaces).
    /// </summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        var parts = new List<string>();
        var bytes = new List<byte>();
        void Flush()
        {
            if (bytes.Count == 0)
                return;
            string text = Encoding.UTF8.GetString(bytes.ToArray()).Replace(EndOfWord, " ", StringComparison.Ordinal).Trim();
            parts.Add(text);
            bytes.Clear();
        }
        foreach (int id in ids)
        {
            if (_specialTokenIds.Contains(id))
            {
                if (skipSpecialTokens)
                    continue;
                Flush();
                parts.Add(GetToken(id));
                continue;
            }
            if (id >= _baseTokens.Length)
            {
                Flush();
                parts.Add(GetToken(id));
                continue;
            }
            foreach (char c in GetToken(id))
                if (ByteLevelAlphabet.TryGetByte(c, out byte b))
                    bytes.Add(b);
                else
                    bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
        }
        Flush();
        return string.Join(" ", parts.Where(p => p.Length > 0));
    }

    private int RequireId(string token, string role) =>
        TryGetTokenId(token, out int id)
            ? id
            : throw new InvalidDataException($"The {role} '{token}' is not in the vocabulary.");
}
