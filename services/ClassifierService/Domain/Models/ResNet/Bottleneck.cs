using DiscriminativeTokens.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classification.Models.ResNet;

/// <summary>
/// torchvision's Bottleneck (ResNet v1.5: the stride sits on the 3×3 convolution): conv1x1 → bn → relu → conv3x3
/// (strided) → bn → relu → conv1x1 to 4× planes → bn, plus the shortcut, then relu.
/// </summary>
public sealed class Bottleneck : ResNetBlock
{
    public const int Expansion = 4;

    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Conv2d conv3;
    private readonly BatchNorm2d bn3;
    private readonly Sequential? downsample;

    public Bottleneck(int inChannels, int planes, int stride) : base(nameof(Bottleneck))
    {
        conv1 = Conv1x1(inChannels, planes);
        bn1 = nn.BatchNorm2d(planes);
        conv2 = Conv3x3(planes, planes, stride);
        bn2 = nn.BatchNorm2d(planes);
        conv3 = Conv1x1(planes, planes * Expansion);
        bn3 = nn.BatchNorm2d(planes * Expansion);
        downsample = Downsample(inChannels, planes * Expansion, stride);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = nn.functional.relu(bn1.forward(conv1.forward(x)));
        h = nn.functional.relu(bn2.forward(conv2.forward(h)));
        var body = bn3.forward(conv3.forward(h));
        var shortcut = downsample?.forward(x) ?? x;
        return nn.functional.relu(body.Plus(shortcut)).MoveToOuterDisposeScope();
    }
}
