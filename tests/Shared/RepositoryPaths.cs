namespace DiscriminativeTokens.Testing;

/// <summary>Finds files of the repository from a test's output folder (tests run from bin/...).</summary>
public static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>The copy of the sd-tiny parity fixture (tests/data/sd-tiny).</summary>
    public static string SdTiny => Path.Combine(Root, "tests", "data", "sd-tiny");

    public static string SdTinyReference(string file) => Path.Combine(SdTiny, "reference", file);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "DiscriminativeTokens.sln")))
                return dir.FullName;
        throw new DirectoryNotFoundException("DiscriminativeTokens.sln not found above " + AppContext.BaseDirectory);
    }
}
