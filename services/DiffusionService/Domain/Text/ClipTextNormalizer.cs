using DiscriminativeTokens.Diffusion.Text.Unicode;
using Microsoft.ML.Tokenizers;

namespace DiscriminativeTokens.Diffusion.Text;

/// <summary>
/// CLIPTokenizer's text preparation when ftfy is installed (as in the reference environment):
/// whitespace_clean(ftfy.fix_text(text)).lower(), with Python's lower-casing.
/// </summary>
public sealed class ClipTextNormalizer : Normalizer
{
    public static ClipTextNormalizer Instance { get; } = new();

    public override string Normalize(string original) =>
        PythonLowercase.ToLower(WhitespaceClean.Apply(FtfyTextFixer.FixText(original)));

    public override string Normalize(ReadOnlySpan<char> original) => Normalize(original.ToString());
}
