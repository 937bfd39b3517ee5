using TorchSharp;

namespace DiscriminativeTokens.Torch;

/// <summary>Parses device names from configuration ("cpu", "cuda", "cuda:1", "auto").</summary>
public static class DeviceSelection
{
    public static torch.Device Parse(string? name)
    {
        string value = string.IsNullOrWhiteSpace(name) ? "auto" : name.Trim().ToLowerInvariant();
        if (value == "auto")
            return torch.cuda.is_available() ? torch.CUDA : torch.CPU;
        if (value.StartsWith("cuda", StringComparison.Ordinal) && !torch.cuda.is_available())
            throw new ArgumentException($"Device '{name}' was requested but CUDA is not available in this build or on this " +
                                        "machine. Build with -p:TorchBackend=cuda on a GPU host, or use 'cpu'.");
        try
        {
            return torch.device(value);
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            throw new ArgumentException($"'{name}' is not a device name; use 'cpu', 'cuda', 'cuda:N' or 'auto'.", e);
        }
    }
}
