using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Unet;

/// <summary>Channel bookkeeping shared by the up stages (the skip concatenation widens each resnet's input).</summary>
internal static class UpStageChannels
{
    /// <summary>
    /// Input width of resnet <paramref name="index"/>: the running features (prev_output_channel for the first,
    /// out_channels after) plus its skip, which is out_channels except for the last resnet, whose skip comes from the
    /// previous down stage (in_channels).
    /// </summary>
    public static int ResnetInput(int index, int layers, int inChannels, int prevOutputChannels, int outChannels)
    {
        int running = index == 0 ? prevOutputChannels : outChannels;
        int skip = index == layers - 1 ? inChannels : outChannels;
        return running + skip;
    }

    public static void RequireSkips(IReadOnlyList<Tensor> skips, int count)
    {
        if (skips.Count != count)
            throw new ArgumentException($"An up stage with {count} resnets needs {count} skip tensors, got {skips.Count}.",
                                        nameof(skips));
    }
}
