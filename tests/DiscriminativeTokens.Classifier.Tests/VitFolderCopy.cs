using DiscriminativeTokens.Torch;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classifier.Tests;

/// <summary>A temporary copy of the vit-tiny folder whose config and weights can be altered; deleted on dispose.</summary>
internal sealed class VitFolderCopy : IDisposable
{
    private readonly string _root;

    public string Folder { get; }

    /// <param name="relativeFolder">Where the copy sits under a fresh temporary root (e.g. a hub-cache layout).</param>
    public VitFolderCopy(string relativeFolder = "vit-tiny")
    {
        _root = Directory.CreateTempSubdirectory("dct-vit-").FullName;
        Folder = Path.Combine(_root, relativeFolder);
        Directory.CreateDirectory(Folder);
        foreach (string file in Directory.GetFiles(Fixture.VitFolder))
            File.Copy(file, Path.Combine(Folder, Path.GetFileName(file)));
    }

    public string WeightsPath => Path.Combine(Folder, "model.safetensors");

    /// <summary>Rewrites the weights, each tensor passed through <paramref name="change"/> (null drops it).</summary>
    public void EditWeights(Func<string, Tensor, (string Name, Tensor Tensor)?> change)
    {
        using var scope = NewDisposeScope();
        var tensors = new List<KeyValuePair<string, Tensor>>();
        using (var original = new SafetensorsFile(Path.Combine(Fixture.VitFolder, "model.safetensors")))
            foreach (string name in original.Entries.Keys.Order(StringComparer.Ordinal))
                if (change(name, original.Read(name)) is { } changed)
                    tensors.Add(new(changed.Name, changed.Tensor));
        SafetensorsWriter.Write(WeightsPath, tensors);
    }

    public void EditConfig(Func<string, string> edit)
    {
        string path = Path.Combine(Folder, "config.json");
        File.WriteAllText(path, edit(File.ReadAllText(path)));
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); }
        catch (IOException) { }
    }
}
