using DiscriminativeTokens.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classification.Models.ResNet;

/// <summary>torchvision's BasicBlock: conv3x3 (strided) → bn → relu → conv3x3 → bn, plus the shortcut, then relu.</summary>
public sealed class BasicBlock : ResNetBlock
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Sequential? downsample;

    public BasicBlock(int inChannels, int planes, int stride) : base(nameof(BasicBlock))
    {
        conv1 = Conv3x3(inChannels, planes, stride);
        bn1 = nn.BatchNorm2d(planes);
        conv2 = Conv3x3(planes, planes);
        bn2 = nn.BatchNorm2d(planes);
        downsample = Downsample(inChannels, planes, stride);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var body = bn2.forward(conv2.forward(nn.functional.relu(bn1.forward(conv1.forward(x)))));
        var shortcut = downsample?.forward(x) ?? x;
        return nn.functional.relu(body.Plus(shortcut)).MoveToOuterDisposeScope();
    }
}
