using DiscriminativeTokens.Classification.Models.Vit;
using DiscriminativeTokens.Diffusion.Loading;
using DiscriminativeTokens.Torch;
using TorchSharp;

namespace DiscriminativeTokens.Parity;

/// <summary>
/// A parity fixture folder in the sd-tiny layout: a diffusers model folder whose reference/ subfolder holds the upstream
/// tensors. The model is loaded on first use, reference files are opened once.
/// </summary>
public sealed class ParityFixture : IDisposable
{
    private readonly Dictionary<string, ReferenceFile> _references = new(StringComparer.Ordinal);
    private readonly torch.Device _device;
    private StableDiffusionModel? _model;

    public ParityFixture(string folder, torch.Device device)
    {
        if (!Directory.Exists(folder))
            throw new ParityLoadException($"Fixture folder '{folder}' does not exist.");
        Folder = Path.GetFullPath(folder);
        ReferenceFolder = Path.Combine(Folder, "reference");
        if (!Directory.Exists(ReferenceFolder))
            throw new ParityLoadException($"'{Folder}' has no reference/ folder; give the fixture folder itself (e.g. tests/data/sd-tiny).");
        _device = device;
    }

    public string Folder { get; }
    public string ReferenceFolder { get; }

    /// <summary>The device the models run on.</summary>
    public torch.Device Device => _device;

    /// <summary>
    /// A new instance of the fixture's classifier (<c>vit-tiny/</c>, a transformers ViTForImageClassification folder);
    /// the caller owns it.
    /// </summary>
    public VitForImageClassification LoadVitClassifier()
    {
        string folder = Path.Combine(Folder, "vit-tiny");
        if (!Directory.Exists(folder))
            throw new ParityLoadException($"'{Folder}' has no vit-tiny/ folder (the classifier the vit and dct_classifier checks use).");
        try
        {
            return VitForImageClassification.Load(folder, _device);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ParityLoadException($"Could not load the classifier in '{folder}': {e.Message}", e);
        }
    }

    public StableDiffusionModel Model
    {
        get
        {
            if (_model is not null) return _model;
            try
            {
                return _model = StableDiffusionModel.Load(Folder, _device);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new ParityLoadException($"Could not load the model in '{Folder}': {e.Message}", e);
            }
        }
    }

    /// <summary>reference/<paramref name="fileName"/>, e.g. "unet.safetensors".</summary>
    public ReferenceFile Reference(string fileName)
    {
        if (_references.TryGetValue(fileName, out var open)) return open;
        string path = Path.Combine(ReferenceFolder, fileName);
        if (!File.Exists(path))
            throw new ParityLoadException($"Reference file '{path}' is missing.");
        try
        {
            return _references[fileName] = new ReferenceFile(new SafetensorsFile(path));
        }
        catch (Exception e) when (e is InvalidDataException or IOException or FormatException)
        {
            throw new ParityLoadException($"Reference file '{path}' cannot be read: {e.Message}", e);
        }
    }

    public void Dispose()
    {
        foreach (var file in _references.Values) file.Dispose();
        _model?.Dispose();
    }
}
