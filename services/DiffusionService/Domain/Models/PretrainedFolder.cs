using DiscriminativeTokens.Torch;

namespace DiscriminativeTokens.Diffusion.Models;

/// <summary>
/// Locates the files of one model folder in the Hugging Face layout: config.json plus a safetensors weights file,
/// optionally in a named variant such as <c>model.fp16.safetensors</c>.
/// </summary>
public static class PretrainedFolder
{
    public const string ConfigFileName = "config.json";

    /// <summary>The variant tried when the plain weights file is absent (diffusers' fp16 exports ship only it).</summary>
    public const string HalfPrecisionVariant = "fp16";

    public static string ConfigPath(string folder)
    {
        RequireFolder(folder, ConfigFileName);
        return Path.Combine(folder, ConfigFileName);
    }

    /// <summary>
    /// The weights file <c>{baseName}.safetensors</c>, or <c>{baseName}.{variant}.safetensors</c> when a variant is
    /// asked for. Without a variant the fp16 file is used when it is the only one present.
    /// </summary>
    public static string WeightsPath(string folder, string baseName, string? variant)
    {
        string plain = baseName + ".safetensors";
        RequireFolder(folder, plain);
        if (variant is not null)
        {
            string wanted = Path.Combine(folder, $"{baseName}.{variant}.safetensors");
            return File.Exists(wanted)
                ? wanted
                : throw new FileNotFoundException($"The '{variant}' weights variant was requested, but {wanted} does not exist.", wanted);
        }
        string plainPath = Path.Combine(folder, plain);
        if (File.Exists(plainPath)) return plainPath;
        string halfPath = Path.Combine(folder, $"{baseName}.{HalfPrecisionVariant}.safetensors");
        if (File.Exists(halfPath)) return halfPath;
        // A pickle checkpoint in place of safetensors gets the explanation of how to convert it.
        foreach (string pickle in new[] { baseName + ".bin", $"{baseName}.{HalfPrecisionVariant}.bin" })
            if (File.Exists(Path.Combine(folder, pickle)))
                ModelFileGuard.RefusePickle(Path.Combine(folder, pickle));
        throw new FileNotFoundException($"Expected the weights file {plainPath} (or {Path.GetFileName(halfPath)}), but neither exists.",
                                        plainPath);
    }

    private static void RequireFolder(string folder, string expectedFile)
    {
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Model folder {folder} does not exist (expected {expectedFile} in it).");
    }
}
