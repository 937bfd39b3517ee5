using DiscriminativeTokens.Testing;
using YamlDotNet.RepresentationModel;

namespace DiscriminativeTokens.Tests;

/// <summary>No Docker engine runs in CI, so docker-compose.yml is checked by parsing it.</summary>
public class DockerComposeTests
{
    private static YamlMappingNode Load()
    {
        var yaml = new YamlStream();
        using var reader = new StreamReader(Path.Combine(RepositoryPaths.Root, "docker-compose.yml"));
        yaml.Load(reader);
        return (YamlMappingNode)yaml.Documents[0].RootNode;
    }

    private static YamlMappingNode Map(YamlNode node, string key) => (YamlMappingNode)((YamlMappingNode)node)[key];
    private static string Scalar(YamlNode node, string key) => ((YamlScalarNode)((YamlMappingNode)node)[key]).Value!;

    [Theory]
    [InlineData("diffusion", "DiffusionService", 5101)]
    [InlineData("classifier", "ClassifierService", 5102)]
    [InlineData("orchestrator", "Orchestrator", 5100)]
    public void EachServiceBuildsAnExistingProjectAndListensOnItsPort(string name, string assembly, int port)
    {
        var service = Map(Map(Load(), "services"), name);
        var build = Map(service, "build");
        Assert.True(File.Exists(Path.Combine(RepositoryPaths.Root, Scalar(build, "dockerfile"))));
        var args = Map(build, "args");
        string project = Scalar(args, "PROJECT");
        Assert.True(File.Exists(Path.Combine(RepositoryPaths.Root, project)), project);
        Assert.Equal(assembly, Scalar(args, "ASSEMBLY"));
        Assert.Equal(assembly + ".csproj", Path.GetFileName(project));
        // In a container the service must bind all interfaces on its documented port.
        Assert.Equal($"http://0.0.0.0:{port}", Scalar(Map(service, "environment"), "Urls"));
    }

    [Fact]
    public void OnlyTheOrchestratorIsPublishedAndOnlyOnLoopback()
    {
        var services = Map(Load(), "services");
        Assert.False(Map(services, "diffusion").Children.ContainsKey("ports"));
        Assert.False(Map(services, "classifier").Children.ContainsKey("ports"));
        var ports = (YamlSequenceNode)Map(services, "orchestrator")["ports"];
        Assert.Equal("127.0.0.1:5100:5100", ((YamlScalarNode)ports.Children.Single()).Value);
        var dependsOn = ((YamlSequenceNode)Map(services, "orchestrator")["depends_on"]).Select(n => ((YamlScalarNode)n).Value);
        Assert.Equal(new[] { "diffusion", "classifier" }, dependsOn);
    }

    [Fact]
    public void EveryNamedVolumeIsDeclared()
    {
        var root = Load();
        var declared = Map(root, "volumes").Children.Keys.Select(k => ((YamlScalarNode)k).Value).ToHashSet();
        foreach (var (_, service) in Map(root, "services").Children)
        {
            if (!((YamlMappingNode)service).Children.ContainsKey("volumes")) continue;
            foreach (var volume in (YamlSequenceNode)((YamlMappingNode)service)["volumes"])
            {
                string source = ((YamlScalarNode)volume).Value!.Split(':')[0];
                Assert.Contains(source, declared);
            }
        }
    }
}
