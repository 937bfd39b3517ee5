using DiscriminativeTokens.ClassifierService;
using DiscriminativeTokens.Classification.Preprocessing;

namespace DiscriminativeTokens.Tests.Services.Classifier;

/// <summary>The Classifier configuration section: what the startup check refuses, presets and preprocessing overrides.</summary>
public sealed class ClassifierConfigurationTests
{
    private static ClassifierOptions Vit(Action<ClassifierOptions>? change = null)
    {
        var options = new ClassifierOptions { Kind = "vit", Path = TinyClassifier.Folder, Device = "cpu" };
        change?.Invoke(options);
        return options;
    }

    [Fact]
    public void AValidConfigurationHasNoProblems() => Assert.Empty(ClassifierConfiguration.Problems(Vit()));

    [Theory]
    [InlineData("Kind", "Classifier:Kind is 'vgg'")]
    [InlineData("ResNetWithoutLabels", "set Classifier:Weights")]
    [InlineData("VitWithWeights", "Classifier:Weights, Classifier:Labels and Classifier:Depth are for resnet")]
    [InlineData("Depth", "Classifier:Depth is 20")]
    [InlineData("Device", "Classifier:Device is 'gpu'")]
    [InlineData("Pooling", "Classifier:Pooling is 'max'")]
    [InlineData("Preset", "Classifier:Preprocessing:Preset is 'inception'")]
    [InlineData("Mean", "Classifier:Preprocessing:Mean is '0.5,0.5'")]
    [InlineData("CropStyle", "Classifier:Preprocessing:CropStyle is 'middle'")]
    [InlineData("Interpolation", "Classifier:Preprocessing:ResizeInterpolation is 'nearest'")]
    [InlineData("Normalize", "Normalize is false, so")]
    [InlineData("MaxConcurrentCalls", "Classifier:MaxConcurrentCalls is 0")]
    [InlineData("RangeTolerance", "Classifier:RangeTolerance is -1")]
    public void EachProblemIsNamedWithWhatToSet(string setting, string expected)
    {
        var options = setting switch
        {
            "Kind" => Vit(o => o.Kind = "vgg"),
            "ResNetWithoutLabels" => new ClassifierOptions { Kind = "resnet", Weights = "resnet.safetensors" },
            "VitWithWeights" => Vit(o => o.Weights = "w.safetensors"),
            "Depth" => new ClassifierOptions { Kind = "resnet", Weights = "w", Labels = "l", Depth = 20 },
            "Device" => Vit(o => o.Device = "gpu"),
            "Pooling" => Vit(o => o.Pooling = "max"),
            "Preset" => Vit(o => o.Preprocessing.Preset = "inception"),
            "Mean" => Vit(o => o.Preprocessing.Mean = "0.5,0.5"),
            "CropStyle" => Vit(o => o.Preprocessing.CropStyle = "middle"),
            "Interpolation" => Vit(o => o.Preprocessing.ResizeInterpolation = "nearest"),
            "Normalize" => Vit(o => { o.Preprocessing.Normalize = false; o.Preprocessing.Mean = "0.5"; }),
            "MaxConcurrentCalls" => Vit(o => o.MaxConcurrentCalls = 0),
            "RangeTolerance" => Vit(o => o.RangeTolerance = -1),
            _ => throw new ArgumentOutOfRangeException(nameof(setting)),
        };
        var problem = Assert.Single(ClassifierConfiguration.Problems(options));
        Assert.Contains(expected, problem);
    }

    [Fact]
    public void OverridesReplaceOrAdjustTheStepsOfThePreset()
    {
        var basis = ClassifierPreprocessing.ReferenceImageNet();
        var adjusted = ClassifierConfiguration.ApplyOverrides(basis, new PreprocessingOptions
        {
            ResizeShorterSide = 300, CropStyle = "torchvision", Mean = "0.485,0.456,0.406",
        });
        Assert.Equal(ResizeStep.ShorterSide(300, ResizeInterpolation.Bicubic, antialias: false), adjusted.Resize);
        Assert.Equal(CenterCropStep.Create(224, 224, CenterCropStyle.Torchvision), adjusted.Crop);
        Assert.Equal(new NormalizeStep([0.485, 0.456, 0.406], [0.5, 0.5, 0.5]), adjusted.Normalize);

        var bare = ClassifierConfiguration.ApplyOverrides(basis, new PreprocessingOptions { ResizeShorterSide = 0, CropSize = 0, Normalize = false });
        Assert.Equal(new ClassifierPreprocessing(null, null, null), bare);

        var built = ClassifierConfiguration.ApplyOverrides(bare, new PreprocessingOptions
        {
            ResizeShorterSide = 40, CropSize = 32, Mean = "0.5", Std = "0.5",
        });
        Assert.Equal(TinyClassifier.Preprocessing, built);
    }

    [Fact]
    public void AnOverrideOfAStepThePresetLacksIsRefused()
    {
        var none = new ClassifierPreprocessing(null, null, null);
        Assert.Contains("set Classifier:Preprocessing:CropSize too", Assert.Throws<ArgumentException>(() =>
            ClassifierConfiguration.ApplyOverrides(none, new PreprocessingOptions { CropStyle = "kornia" })).Message);
        Assert.Contains("give both", Assert.Throws<ArgumentException>(() =>
            ClassifierConfiguration.ApplyOverrides(none, new PreprocessingOptions { Mean = "0.5" })).Message);
    }

    [Fact]
    public void LoadAppliesPresetsAndOverridesToTheServedPipeline()
    {
        // The default for a CLS-token ViT is the reference ImageNet preprocessing scaled to its input (32: resize 37).
        using (var byDefault = ClassifierConfiguration.Load(Vit()))
            Assert.Equal(ClassifierPreprocessing.ReferenceImageNet(32), byDefault.Preprocessing);
        using (var overridden = ClassifierConfiguration.Load(Vit(o => o.Preprocessing.ResizeShorterSide = 40)))
            Assert.Equal(TinyClassifier.Preprocessing, overridden.Preprocessing);
        using (var fineGrained = ClassifierConfiguration.Load(Vit(o => { o.Preprocessing.Preset = "finegrained"; o.ModelId = "tiny"; o.MaxBatchSize = 2; })))
        {
            Assert.Equal(ClassifierPreprocessing.ReferenceFineGrained(32), fineGrained.Preprocessing);
            Assert.Equal("tiny", fineGrained.Info.ModelId);
            Assert.Equal(2, fineGrained.Info.MaxBatchSize);
        }
        // A preset that cannot feed this model is refused at load (the service then reports NOT_SERVING).
        Assert.Contains("224x224", Assert.ThrowsAny<ArgumentException>(() =>
            ClassifierConfiguration.Load(Vit(o => o.Preprocessing.Preset = "torchvision"))).Message);
    }
}
