using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Torch;

/// <summary>
/// Loads safetensors weights into a module whose parameter names match the upstream state dict. Unlike TorchSharp's
/// load_state_dict, a shape mismatch is an error even when the shapes broadcast, and every missing or unexpected key is
/// named.
/// </summary>
public static class StateDictLoader
{
    /// <param name="module">The model; its parameters and persistent buffers are overwritten.</param>
    /// <param name="files">One or more safetensors files (sharded checkpoints).</param>
    /// <param name="prefix">Prefix the checkpoint puts before the module's own names (e.g. "vit."), or "".</param>
    /// <param name="ignoredKeys">Checkpoint keys to skip (e.g. position-id buffers some exports include).</param>
    /// <param name="optionalKeys">Module keys that may be absent from the checkpoint (kept as initialized).</param>
    public static void Load(nn.Module module, IReadOnlyList<string> files, string prefix = "",
                            IEnumerable<string>? ignoredKeys = null, IEnumerable<string>? optionalKeys = null)
    {
        var ignored = new HashSet<string>(ignoredKeys ?? [], StringComparer.Ordinal);
        var optional = new HashSet<string>(optionalKeys ?? [], StringComparer.Ordinal);
        var opened = files.Select(f => new SafetensorsFile(f)).ToList();
        try
        {
            var where = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            foreach (var file in opened)
                foreach (var key in file.Entries.Keys)
                    if (!ignored.Contains(key))
                        where[key] = file;

            var targets = module.state_dict();
            var missing = targets.Keys.Where(k => !where.ContainsKey(prefix + k) && !optional.Contains(k)).ToList();
            var unexpected = where.Keys.Where(k => !k.StartsWith(prefix, StringComparison.Ordinal) ||
                                                   !targets.ContainsKey(k[prefix.Length..])).ToList();
            if (missing.Count > 0 || unexpected.Count > 0)
                throw new InvalidDataException(Describe(module, files, missing, unexpected, prefix));

            using (no_grad())
            {
                foreach (var (name, tensor) in targets)
                    if (where.TryGetValue(prefix + name, out var file))
                        file.CopyInto(prefix + name, tensor);
            }
        }
        finally
        {
            foreach (var file in opened) file.Dispose();
        }
    }

    private static string Describe(nn.Module module, IReadOnlyList<string> files, List<string> missing,
                                   List<string> unexpected, string prefix)
    {
        static string List(List<string> keys) =>
            string.Join(", ", keys.Take(10).Select(k => $"'{k}'")) + (keys.Count > 10 ? $" and {keys.Count - 10} more" : "");
        var parts = new List<string>();
        if (missing.Count > 0) parts.Add($"missing key(s) {List(missing.Select(k => prefix + k).ToList())}");
        if (unexpected.Count > 0) parts.Add($"unexpected key(s) {List(unexpected)}");
        return $"{string.Join(", ", files)} does not match {module.GetName()}: {string.Join("; ", parts)}. " +
               "Check that the weights belong to this model and that config.json describes them.";
    }
}
