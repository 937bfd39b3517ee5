namespace DiscriminativeTokens.Torch;

/// <summary>Refuses pickle-based checkpoints: loading them can run arbitrary code.</summary>
public static class ModelFileGuard
{
    private static readonly string[] PickleExtensions = [".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle"];

    public static bool IsPickle(string path) =>
        PickleExtensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase);

    public static void RefusePickle(string path)
    {
        if (!IsPickle(path)) return;
        throw new InvalidDataException(
            $"{path} is a pickle checkpoint, which this project never loads (unpickling can run arbitrary code). " +
            "Convert it to safetensors once, in a Python environment you trust: " +
            "python -c \"import torch, safetensors.torch as st; " +
            $"st.save_file({{k: v.contiguous() for k, v in torch.load('{Path.GetFileName(path)}', map_location='cpu', weights_only=True).items()}}, " +
            $"'{Path.GetFileNameWithoutExtension(path)}.safetensors')\" — for a diffusers or transformers folder, " +
            "from_pretrained(...).save_pretrained(dir, safe_serialization=True) does the same.");
    }
}
