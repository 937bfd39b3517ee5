using System.Text;
using System.Text.Json;
using TorchSharp;

namespace DiscriminativeTokens.Torch;

/// <summary>Writes tensors in the safetensors format (atomically: a temporary file renamed into place).</summary>
public static class SafetensorsWriter
{
    public static void Write(string path, IReadOnlyList<KeyValuePair<string, torch.Tensor>> tensors,
                             IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new Dictionary<string, object>(StringComparer.Ordinal);
        if (metadata is { Count: > 0 })
            header["__metadata__"] = metadata;
        var cpu = new List<torch.Tensor>(tensors.Count);
        long offset = 0;
        try
        {
            foreach (var (name, tensor) in tensors)
            {
                var contiguous = tensor.detach().cpu().contiguous();
                cpu.Add(contiguous);
                long bytes = contiguous.numel() * SafetensorsDType.ByteWidth(contiguous.dtype);
                header[name] = new Dictionary<string, object>
                {
                    ["dtype"] = SafetensorsDType.FromScalarType(contiguous.dtype),
                    ["shape"] = contiguous.shape,
                    ["data_offsets"] = new[] { offset, offset + bytes },
                };
                offset += bytes;
            }
            byte[] json = JsonSerializer.SerializeToUtf8Bytes(header);
            // Pad the header with spaces to a multiple of 8 so the data is aligned, as the reference writer does.
            int padded = (json.Length + 7) / 8 * 8;
            AtomicFile.Write(path, stream =>
            {
                stream.Write(BitConverter.GetBytes((long)padded));
                stream.Write(json);
                stream.Write(Encoding.ASCII.GetBytes(new string(' ', padded - json.Length)));
                foreach (var tensor in cpu)
                    if (tensor.numel() > 0)
                        stream.Write(tensor.bytes);
            });
        }
        finally
        {
            foreach (var tensor in cpu) tensor.Dispose();
        }
    }
}
