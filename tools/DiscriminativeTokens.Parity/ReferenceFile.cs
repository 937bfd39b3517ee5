using System.Text.Json;
using DiscriminativeTokens.Torch;
using TorchSharp;

namespace DiscriminativeTokens.Parity;

/// <summary>One reference/*.safetensors file of the fixture: tensors and the JSON strings in its metadata.</summary>
public sealed class ReferenceFile(SafetensorsFile file) : IDisposable
{
    public string Path => file.Path;

    public bool Contains(string name) => file.Contains(name);

    public torch.Tensor Read(string name) =>
        file.Contains(name)
            ? file.Read(name)
            : throw new ParityLoadException($"{Path} has no tensor '{name}'; regenerate the reference files of this fixture.");

    public string Metadata(string key) =>
        file.Metadata.TryGetValue(key, out string? value)
            ? value
            : throw new ParityLoadException($"{Path} has no metadata entry '{key}'; regenerate the reference files of this fixture.");

    /// <summary>A metadata entry that holds JSON (lists of prompts, configs).</summary>
    public T MetadataJson<T>(string key)
    {
        string json = Metadata(key);
        try
        {
            return JsonSerializer.Deserialize<T>(json) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new ParityLoadException($"{Path}: metadata '{key}' is not the JSON this check expects ({e.Message}).", e);
        }
    }

    public void Dispose() => file.Dispose();
}
