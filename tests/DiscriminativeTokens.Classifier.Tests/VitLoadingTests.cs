using DiscriminativeTokens.Classification;
using DiscriminativeTokens.Classification.Models.Vit;
using DiscriminativeTokens.Torch;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classifier.Tests;

/// <summary>
/// Loading vit-tiny and its variants: strict keys, config errors, the two poolings and where MAE fine-tunes keep their
/// final norm. Logit comparisons: max abs error ≤ 1e-4 · max(1, max |expected|).
/// </summary>
public sealed class VitLoadingTests(ITestOutputHelper output)
{
    [Fact]
    public void ParametersKeepTransformersNamesAndAreFrozen()
    {
        using var model = VitForImageClassification.Load(Fixture.VitFolder, CPU);
        using var file = new SafetensorsFile(Path.Combine(Fixture.VitFolder, "model.safetensors"));
        Assert.Equal(file.Entries.Keys.Order(StringComparer.Ordinal), model.state_dict().Keys.Order(StringComparer.Ordinal));
        Assert.Contains("vit.encoder.layer.0.attention.attention.query.weight", model.state_dict().Keys);
        Assert.All(model.parameters(), p => Assert.False(p.requires_grad));
        Assert.False(model.training);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"LABEL_{i}"), model.Labels);
        Assert.Equal((32, 32), model.RequiredInputSize);
    }

    [Fact]
    public void MissingUnexpectedAndMisshapenKeysAreNamed()
    {
        using var copy = new VitFolderCopy();
        copy.EditWeights((name, t) => name == "vit.encoder.layer.1.output.dense.bias" ? null : (name, t));
        var e = Assert.Throws<InvalidDataException>(() => VitForImageClassification.Load(copy.Folder, CPU));
        Assert.Contains("vit.encoder.layer.1.output.dense.bias", e.Message);

        copy.EditWeights((name, t) => name == "vit.embeddings.position_embeddings" ? (name, zeros(1, 5, 32)) : (name, t));
        e = Assert.Throws<InvalidDataException>(() => VitForImageClassification.Load(copy.Folder, CPU));
        Assert.Contains("vit.embeddings.position_embeddings", e.Message);

        copy.EditWeights((name, t) => name == "classifier.bias" ? ("classifier.extra", t) : (name, t));
        e = Assert.Throws<InvalidDataException>(() => VitForImageClassification.Load(copy.Folder, CPU));
        Assert.Contains("classifier.extra", e.Message);
        Assert.Contains("classifier.bias", e.Message);
    }

    [Fact]
    public void PickleCheckpointsAreRefusedWithConversionAdvice()
    {
        using var copy = new VitFolderCopy();
        File.Move(copy.WeightsPath, Path.Combine(copy.Folder, "pytorch_model.bin"));
        var e = Assert.Throws<InvalidDataException>(() => VitForImageClassification.Load(copy.Folder, CPU));
        Assert.Contains("pickle", e.Message);
        Assert.Contains("safetensors", e.Message);
    }

    [Theory]
    [InlineData("\"hidden_act\": \"gelu\"", "\"hidden_act\": \"swish\"", "hidden_act")]
    [InlineData("\"num_channels\": 3", "\"num_channels\": 1", "num_channels")]
    [InlineData("\"patch_size\": 8", "\"patch_size\": 5", "patch_size")]
    [InlineData("\"model_type\": \"vit\"", "\"model_type\": \"deit\"", "model_type")]
    [InlineData("\"0\": \"LABEL_0\",", "", "id2label")]
    [InlineData("\"ViTForImageClassification\"", "\"ViTMAEForPreTraining\"", "architectures")]
    public void UnsupportedConfigValuesNameTheField(string original, string replacement, string field)
    {
        using var copy = new VitFolderCopy();
        copy.EditConfig(text =>
        {
            Assert.Contains(original, text);
            return text.Replace(original, replacement, StringComparison.Ordinal);
        });
        var e = Assert.Throws<InvalidDataException>(() => VitForImageClassification.Load(copy.Folder, CPU));
        Assert.Contains($"'{field}'", e.Message);
    }

    [Fact]
    public void OtherInputSizesAreRefusedClearly()
    {
        using var model = VitForImageClassification.Load(Fixture.VitFolder, CPU);
        using var image = zeros(1, 3, 40, 40);
        var e = Assert.Throws<ArgumentException>(() => model.forward(image));
        Assert.Contains("[N, 3, 32, 32]", e.Message);
    }

    [Fact]
    public void PoolingHeadsReadTheNormedClsTokenOrTheNormedPatchMean()
    {
        // Both heads recomputed from the stored weights with plain functional ops on the final-layer tokens.
        using var cls = VitForImageClassification.Load(Fixture.VitFolder, CPU);
        using var mean = VitForImageClassification.Load(Fixture.VitFolder, CPU, VitPooling.MeanPatchTokens);
        using var file = new SafetensorsFile(Path.Combine(Fixture.VitFolder, "model.safetensors"));
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var pixels = rand([2, 3, 32, 32], generator: new Generator(3)) * 2 - 1;
        var tokens = cls.FinalLayerTokens(pixels);
        Tensor Head(Tensor pooled) => nn.functional.linear(
            nn.functional.layer_norm(pooled, [32], file.Read("vit.layernorm.weight"), file.Read("vit.layernorm.bias"), 1e-12),
            file.Read("classifier.weight"), file.Read("classifier.bias"));
        Parity.AssertForwardClose(cls.forward(pixels), Head(tokens[.., 0]), "CLS-pooled logits", output);
        var meanLogits = mean.forward(pixels);
        Parity.AssertForwardClose(meanLogits, Head(tokens[.., 1..].mean([1])), "mean-pooled logits", output);
        Assert.True(Parity.MaxAbsError(meanLogits, cls.forward(pixels)) > 1e-3, "the two heads should differ");
        Assert.Contains("mean-patch-token pooling", mean.Architecture);
    }

    [Theory]
    [InlineData("vit.fc_norm.", VitFinalNorm.VitFcNorm)]
    [InlineData("fc_norm.", VitFinalNorm.FcNorm)]
    public void FcNormCheckpointsLoadUnderTheirOwnNamesAndMeanPool(string prefix, VitFinalNorm expected)
    {
        using var copy = new VitFolderCopy();
        copy.EditWeights((name, t) => name.StartsWith("vit.layernorm.", StringComparison.Ordinal)
            ? (prefix + name["vit.layernorm.".Length..], t)
            : (name, t));
        using var renamed = VitForImageClassification.Load(copy.Folder, CPU);
        Assert.Equal(expected, renamed.FinalNorm);
        Assert.Equal(VitPooling.MeanPatchTokens, renamed.Pooling);
        Assert.Contains(prefix + "weight", renamed.state_dict().Keys);

        using var original = VitForImageClassification.Load(Fixture.VitFolder, CPU, VitPooling.MeanPatchTokens);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var pixels = rand([1, 3, 32, 32], generator: new Generator(5)) * 2 - 1;
        Parity.AssertForwardClose(renamed.forward(pixels), original.forward(pixels), $"{prefix}* mean-pooled logits", output);
    }

    [Fact]
    public void HubCacheSnapshotsAreNamedByTheirRepositoryAndGetTheReferencePreprocessing()
    {
        using var copy = new VitFolderCopy(Path.Combine("models--someone--vit-tiny", "snapshots", "0123abcd"));
        using var pipeline = ClassifierLoader.LoadVit(copy.Folder, CPU);
        Assert.Equal("someone/vit-tiny", pipeline.Info.ModelId);
        Assert.Equal(10, pipeline.Info.NumClasses);
        // The reference's 256/224 ratio at image_size 32: shorter side 37, crop 32.
        Assert.Equal("resize shorter side to 37 (bicubic, no antialias), center crop 32 (kornia: half-pixel offsets " +
                     "interpolated bilinearly), normalize mean 0.5 std 0.5", pipeline.Info.Preprocessing);
    }
}
