using DiscriminativeTokens.Diffusion.Loading;

namespace DiscriminativeTokens.Diffusion.Tests.Loading;

public class ModelLocatorTests
{
    private static (string Cache, Dictionary<string, string?> Env) MakeCache()
    {
        string home = Path.Combine(Path.GetTempPath(), $"hf-{Guid.NewGuid():N}");
        string repo = Path.Combine(home, "hub", "models--org--tiny-sd");
        Directory.CreateDirectory(Path.Combine(repo, "refs"));
        Directory.CreateDirectory(Path.Combine(repo, "snapshots", "abc123"));
        Directory.CreateDirectory(Path.Combine(repo, "snapshots", "def456"));
        File.WriteAllText(Path.Combine(repo, "refs", "main"), "abc123\n");
        return (home, new Dictionary<string, string?> { ["HF_HOME"] = home });
    }

    [Fact]
    public void HubIdResolvesThroughRefsMainAndExplicitRevisions()
    {
        var (home, env) = MakeCache();
        try
        {
            string snapshots = Path.Combine(home, "hub", "models--org--tiny-sd", "snapshots");
            Assert.Equal(Path.Combine(snapshots, "abc123"), ModelLocator.Resolve("org/tiny-sd", env));
            Assert.Equal(Path.Combine(snapshots, "def456"), ModelLocator.Resolve("org/tiny-sd@def456", env));
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    [Fact]
    public void HubCacheHonoursHfHubCacheBeforeHfHome()
    {
        var env = new Dictionary<string, string?> { ["HF_HUB_CACHE"] = "/x/hub-cache", ["HF_HOME"] = "/y" };
        Assert.Equal("/x/hub-cache", ModelLocator.HubCacheFolder(env));
        Assert.Equal(Path.Combine("/y", "hub"), ModelLocator.HubCacheFolder(new Dictionary<string, string?> { ["HF_HOME"] = "/y" }));
    }

    [Fact]
    public void MissingModelsSayWhereTheyWereLookedForAndHowToGetThem()
    {
        var (home, env) = MakeCache();
        try
        {
            var missing = Assert.Throws<DirectoryNotFoundException>(() => ModelLocator.Resolve("org/other", env));
            Assert.Contains("huggingface-cli download org/other", missing.Message);
            Assert.Contains(Path.Combine(home, "hub"), missing.Message);
            var revision = Assert.Throws<DirectoryNotFoundException>(() => ModelLocator.Resolve("org/tiny-sd@nope", env));
            Assert.Contains("revision 'nope'", revision.Message);
            Assert.Throws<DirectoryNotFoundException>(() => ModelLocator.Resolve("not a hub id", env));
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }
}
