using System.Text.RegularExpressions;

namespace DiscriminativeTokens.Diffusion.Loading;

/// <summary>
/// Resolves what a user names as a model: a folder path, or a Hugging Face hub id ("org/name", optionally
/// "org/name@revision") found in the local Hugging Face cache, so models downloaded for diffusers are reused as they
/// are. Nothing is downloaded.
/// </summary>
public static partial class ModelLocator
{
    /// <summary>The hub cache folder: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub.</summary>
    public static string HubCacheFolder(IReadOnlyDictionary<string, string?>? environment = null)
    {
        string? Get(string name) => environment is null ? Environment.GetEnvironmentVariable(name)
                                   : environment.TryGetValue(name, out var v) ? v : null;
        if (Get("HF_HUB_CACHE") is { Length: > 0 } hubCache) return hubCache;
        if (Get("HF_HOME") is { Length: > 0 } home) return Path.Combine(home, "hub");
        string user = Get("HOME") is { Length: > 0 } h ? h : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(user, ".cache", "huggingface", "hub");
    }

    /// <summary>Returns the folder that holds the model's files.</summary>
    public static string Resolve(string pathOrHubId, IReadOnlyDictionary<string, string?>? environment = null)
    {
        if (string.IsNullOrWhiteSpace(pathOrHubId))
            throw new ArgumentException("No model was named: give a model folder or a Hugging Face hub id such as " +
                                        "'stabilityai/stable-diffusion-2-1-base'.");
        if (Directory.Exists(pathOrHubId))
            return Path.GetFullPath(pathOrHubId);

        var match = HubIdPattern().Match(pathOrHubId);
        if (!match.Success)
            throw new DirectoryNotFoundException($"Model folder '{pathOrHubId}' does not exist, and it is not a hub id of the form org/name.");

        string org = match.Groups["org"].Value, name = match.Groups["name"].Value;
        string revision = match.Groups["rev"].Success ? match.Groups["rev"].Value : "main";
        string cache = HubCacheFolder(environment);
        string repo = Path.Combine(cache, $"models--{org}--{name}");
        string hint = $"Download it once where a network is available, e.g. `huggingface-cli download {org}/{name}`, " +
                      $"or set HF_HOME / HF_HUB_CACHE to the cache that holds it (looked in {cache}).";
        if (!Directory.Exists(repo))
            throw new DirectoryNotFoundException($"'{org}/{name}' is not in the Hugging Face cache. {hint}");

        // A revision is a ref name (refs/<name> holds the commit hash) or a commit hash itself.
        string snapshot = revision;
        string refFile = Path.Combine(repo, "refs", revision);
        if (File.Exists(refFile))
            snapshot = File.ReadAllText(refFile).Trim();
        string folder = Path.Combine(repo, "snapshots", snapshot);
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException(
                $"'{org}/{name}' revision '{revision}' has no snapshot in the cache ({folder} is missing). {hint}");
        return folder;
    }

    [GeneratedRegex(@"^(?<org>[A-Za-z0-9][\w.\-]*)/(?<name>[A-Za-z0-9][\w.\-]*)(@(?<rev>[\w.\-]+))?$")]
    private static partial Regex HubIdPattern();
}
