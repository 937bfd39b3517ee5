using DiscriminativeTokens.Testing;
using DiscriminativeTokens.Torch;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Tests.Models;

/// <summary>A temporary copy of an sd-tiny model folder whose weights file can be altered; deleted on dispose.</summary>
internal sealed class ModelFolderCopy : IDisposable
{
    public string Folder { get; } = Path.Combine(Path.GetTempPath(), $"dct-model-{Guid.NewGuid():N}");

    private readonly string _source;

    /// <param name="component">"text_encoder" or "vae".</param>
    public ModelFolderCopy(string component)
    {
        _source = Path.Combine(RepositoryPaths.SdTiny, component);
        Directory.CreateDirectory(Folder);
        File.Copy(Path.Combine(_source, "config.json"), Path.Combine(Folder, "config.json"));
    }

    /// <summary>
    /// Writes <paramref name="fileName"/> from the original weights, each tensor passed through
    /// <paramref name="change"/> (return null to drop it).
    /// </summary>
    public void WriteWeights(string sourceFileName, string fileName, Func<string, Tensor, Tensor?> change)
    {
        using var scope = NewDisposeScope();
        using var original = new SafetensorsFile(Path.Combine(_source, sourceFileName));
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (string name in original.Entries.Keys.Order(StringComparer.Ordinal))
            if (change(name, original.Read(name)) is { } changed)
                tensors.Add(new(name, changed));
        SafetensorsWriter.Write(Path.Combine(Folder, fileName), tensors);
    }

    public void EditConfig(Func<string, string> edit)
    {
        string path = Path.Combine(Folder, "config.json");
        File.WriteAllText(path, edit(File.ReadAllText(path)));
    }

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); }
        catch (IOException) { }
    }
}
