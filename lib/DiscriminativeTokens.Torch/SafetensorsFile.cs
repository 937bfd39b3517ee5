using System.IO.MemoryMappedFiles;
using System.Text.Json;
using TorchSharp;

namespace DiscriminativeTokens.Torch;

/// <summary>One tensor's entry in a safetensors header.</summary>
public sealed record SafetensorsEntry(string Name, torch.ScalarType DType, long[] Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;
}

/// <summary>
/// A memory-mapped safetensors file: an 8-byte little-endian header length, a JSON header, then raw little-endian
/// tensor data. Tensors are copied from the mapping straight into tensor memory, so loading needs no second copy.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    private const long MaxHeaderBytes = 100L * 1024 * 1024;
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private readonly long _dataStart;

    public string Path { get; }
    public IReadOnlyDictionary<string, SafetensorsEntry> Entries { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public SafetensorsFile(string path)
    {
        Path = path;
        ModelFileGuard.RefusePickle(path);
        long length = new FileInfo(path).Length;
        if (length < 8)
            throw new InvalidDataException($"{path} is not a safetensors file: it is {length} bytes long.");
        _map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        try
        {
            _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            _base = pointer + _view.PointerOffset;

            long headerLength = *(long*)_base;
            if (headerLength <= 0 || headerLength > MaxHeaderBytes || 8 + headerLength > length)
                throw new InvalidDataException($"{path} is not a safetensors file: header length {headerLength} " +
                                               $"does not fit a file of {length} bytes.");
            _dataStart = 8 + headerLength;
            (Entries, Metadata) = ParseHeader(new ReadOnlySpan<byte>(_base + 8, (int)headerLength), length - _dataStart);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    private (Dictionary<string, SafetensorsEntry>, Dictionary<string, string>) ParseHeader(ReadOnlySpan<byte> json, long dataLength)
    {
        var entries = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(json);
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{Path}: the safetensors header is not valid JSON ({e.Message}).");
        }
        using (document)
        {
            foreach (JsonProperty property in document.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    foreach (JsonProperty m in property.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    continue;
                }
                JsonElement e = property.Value;
                string name = property.Name;
                torch.ScalarType type = SafetensorsDType.ToScalarType(e.GetProperty("dtype").GetString() ?? "", name);
                long[] shape = e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                long[] offsets = e.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] > dataLength)
                    throw new InvalidDataException($"{Path}: tensor '{name}' has data offsets [{string.Join(", ", offsets)}] " +
                                                   $"outside the {dataLength} data bytes.");
                long elements = 1;
                foreach (long d in shape)
                {
                    if (d < 0) throw new InvalidDataException($"{Path}: tensor '{name}' has a negative dimension.");
                    elements = checked(elements * d);
                }
                long expected = checked(elements * SafetensorsDType.ByteWidth(type));
                if (expected != offsets[1] - offsets[0])
                    throw new InvalidDataException($"{Path}: tensor '{name}' of shape [{string.Join(", ", shape)}] needs " +
                                                   $"{expected} bytes but its data offsets span {offsets[1] - offsets[0]}.");
                entries[name] = new SafetensorsEntry(name, type, shape, offsets[0], offsets[1]);
            }
        }
        return (entries, metadata);
    }

    public bool Contains(string name) => Entries.ContainsKey(name);

    public SafetensorsEntry Entry(string name) =>
        Entries.TryGetValue(name, out var entry)
            ? entry
            : throw new KeyNotFoundException($"{Path} has no tensor named '{name}'.");

    /// <summary>Reads a tensor in its stored dtype onto the CPU.</summary>
    public torch.Tensor Read(string name)
    {
        SafetensorsEntry entry = Entry(name);
        var tensor = torch.empty(entry.Shape, entry.DType);
        CopyBytes(entry, tensor);
        return tensor;
    }

    /// <summary>
    /// Copies a stored tensor into <paramref name="destination"/> (any device, any floating dtype), after checking that
    /// the shapes are identical. The caller disables autograd around parameter updates.
    /// </summary>
    public void CopyInto(string name, torch.Tensor destination)
    {
        SafetensorsEntry entry = Entry(name);
        if (!entry.Shape.SequenceEqual(destination.shape))
            throw new InvalidDataException($"{Path}: tensor '{name}' has shape [{string.Join(", ", entry.Shape)}] but the " +
                                           $"model expects [{string.Join(", ", destination.shape)}].");
        bool direct = destination.dtype == entry.DType && destination.device_type == DeviceType.CPU && destination.is_contiguous();
        if (direct)
        {
            CopyBytes(entry, destination);
            return;
        }
        using var staged = Read(name);
        destination.copy_(staged);
    }

    private void CopyBytes(SafetensorsEntry entry, torch.Tensor destination)
    {
        if (entry.ByteLength == 0) return;
        // Span lengths are int: copy tensors over 2 GiB through element-range views.
        int width = SafetensorsDType.ByteWidth(entry.DType);
        long maxElements = (int.MaxValue / width) & ~0xFFFL;
        using var flat = destination.view(-1);
        long total = flat.shape[0];
        for (long start = 0; start < total; start += maxElements)
        {
            long count = Math.Min(maxElements, total - start);
            using var part = flat.narrow(0, start, count);
            var source = new ReadOnlySpan<byte>(_base + _dataStart + entry.Begin + start * width, checked((int)(count * width)));
            source.CopyTo(part.bytes);
        }
    }

    private bool _disposed;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _map.Dispose();
    }
}
