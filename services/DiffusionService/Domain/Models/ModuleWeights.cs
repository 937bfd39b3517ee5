using System.Security.Cryptography;
using System.Text;
using TorchSharp;

namespace DiscriminativeTokens.Diffusion.Models;

/// <summary>Operations over all weights of a loaded model.</summary>
public static class ModuleWeights
{
    /// <summary>Inference mode for a pretrained model: eval, and no parameter takes part in autograd.</summary>
    public static void Freeze(torch.nn.Module module)
    {
        module.eval();
        foreach (var parameter in module.parameters())
            parameter.requires_grad = false;
    }

    /// <summary>
    /// SHA-256 (lower-case hex) over the state dict in ordinal name order: for each tensor its name, dtype, shape and
    /// raw little-endian bytes as held in memory. Identifies a set of weights independently of file layout and device.
    /// </summary>
    public static string Sha256(torch.nn.Module module)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, tensor) in module.state_dict().OrderBy(entry => entry.Key, StringComparer.Ordinal))
        {
            string header = $"{name}\0{tensor.dtype}\0{string.Join(",", tensor.shape)}\0";
            hash.AppendData(Encoding.UTF8.GetBytes(header));
            AppendBytes(hash, tensor);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static void AppendBytes(IncrementalHash hash, torch.Tensor tensor)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var flat = tensor.detach().cpu().contiguous().view(-1);
        long total = flat.shape[0];
        if (total == 0) return;
        // Spans are int-sized: hash tensors over 2 GiB in element ranges.
        long width = flat.ElementSize;
        long step = (int.MaxValue / width) & ~0xFFFL;
        for (long start = 0; start < total; start += step)
            hash.AppendData(flat.narrow(0, start, Math.Min(step, total - start)).bytes);
    }
}
