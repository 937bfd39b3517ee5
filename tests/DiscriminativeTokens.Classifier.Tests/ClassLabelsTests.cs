using DiscriminativeTokens.Classification.Models;

namespace DiscriminativeTokens.Classifier.Tests;

/// <summary>Label files for ResNet classifiers: text lines, JSON lists and JSON id → label objects.</summary>
public sealed class ClassLabelsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("dct-labels-").FullName;

    private string Write(string name, string text)
    {
        string path = Path.Combine(_folder, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Theory]
    [InlineData("labels.txt", "tench\r\ngoldfish\ngreat white shark\n\n")]
    [InlineData("labels.json", """["tench", "goldfish", "great white shark"]""")]
    [InlineData("labels.json", """{"2": "great white shark", "0": "tench", "1": "goldfish"}""")]
    [InlineData("config.json", """{"id2label": {"0": "tench", "1": "goldfish", "2": "great white shark"}}""")]
    public void EveryFormatGivesLabelsInClassIdOrder(string name, string text) =>
        Assert.Equal(["tench", "goldfish", "great white shark"], ClassLabels.Read(Write(name, text)));

    [Theory]
    [InlineData("tench\n\ngoldfish\n", "line 2 is blank")]
    [InlineData("""{"0": "tench", "2": "goldfish"}""", "0..1")]
    [InlineData("""["tench", 3]""", "entry 1")]
    [InlineData("""{"0": "tench", """, "not valid JSON")]
    [InlineData("\n\n", "no class labels")]
    public void MalformedFilesAreRefusedWithTheReason(string text, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => ClassLabels.Read(Write("labels", text)));
        Assert.Contains(expected, e.Message);
    }

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); }
        catch (IOException) { }
    }
}
