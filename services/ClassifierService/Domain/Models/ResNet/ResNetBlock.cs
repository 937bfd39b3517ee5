using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Classification.Models.ResNet;

/// <summary>A residual block: relu(body(x) + shortcut(x)), the shortcut a strided 1×1 convolution and batch norm
/// (<c>downsample.0</c>, <c>downsample.1</c>) when the shape changes, else the identity.</summary>
public abstract class ResNetBlock : nn.Module<Tensor, Tensor>
{
    protected ResNetBlock(string name) : base(name)
    {
    }

    /// <summary>torchvision's shortcut: present when the stride or the channel count changes.</summary>
    protected static Sequential? Downsample(int inChannels, int outChannels, int stride) =>
        stride == 1 && inChannels == outChannels
            ? null
            : nn.Sequential(nn.Conv2d(inChannels, outChannels, 1, stride: stride, bias: false), nn.BatchNorm2d(outChannels));

    /// <summary>3×3 convolution with padding 1 and no bias, as torchvision's conv3x3.</summary>
    protected static Conv2d Conv3x3(int inChannels, int outChannels, int stride = 1) =>
        nn.Conv2d(inChannels, outChannels, 3, stride: stride, padding: 1, bias: false);

    /// <summary>1×1 convolution without bias, as torchvision's conv1x1.</summary>
    protected static Conv2d Conv1x1(int inChannels, int outChannels) => nn.Conv2d(inChannels, outChannels, 1, bias: false);
}
