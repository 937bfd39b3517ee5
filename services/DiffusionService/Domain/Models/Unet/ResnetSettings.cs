using TorchSharp;

namespace DiscriminativeTokens.Diffusion.Models.Unet;

/// <summary>What every ResnetBlock2D of one UNet shares: time-embedding width, GroupNorm groups and eps, dropout.</summary>
public sealed record ResnetSettings(int TembChannels, int Groups, double Eps, double Dropout)
{
    public ResnetBlock2D Create(int inChannels, int outChannels, torch.Device device, double outputScaleFactor = 1) =>
        new(inChannels, outChannels, TembChannels, Groups, Eps, Dropout, outputScaleFactor, device);
}
