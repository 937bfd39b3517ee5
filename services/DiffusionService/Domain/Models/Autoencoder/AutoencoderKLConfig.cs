using DiscriminativeTokens.Torch;
namespace DiscriminativeTokens.Diffusion.Models.Autoencoder;

/// <summary>The fields of a diffusers <c>AutoencoderKL</c> config.json (vae/config.json) that shape the model.</summary>
public sealed record AutoencoderKLConfig(
    int InChannels,
    int OutChannels,
    IReadOnlyList<int> BlockOutChannels,
    int LayersPerBlock,
    int NormNumGroups,
    int LatentChannels,
    double ScalingFactor,
    bool UseQuantConv,
    bool UsePostQuantConv,
    bool MidBlockAddAttention)
{
    private const string DownBlock = "DownEncoderBlock2D";
    private const string UpBlock = "UpDecoderBlock2D";

    /// <summary>Reads config.json; absent fields take diffusers' AutoencoderKL defaults.</summary>
    public static AutoencoderKLConfig FromFile(string path)
    {
        var json = ConfigJson.Read(path);
        string className = json.String("_class_name", "AutoencoderKL");
        if (className != "AutoencoderKL")
            throw json.Invalid("_class_name", json.Raw("_class_name"), "expected \"AutoencoderKL\"");
        string act = json.String("act_fn", "silu");
        if (act is not ("silu" or "swish"))
            throw json.Invalid("act_fn", json.Raw("act_fn"), "only \"silu\" is implemented");

        int[] channels = json.IntArray("block_out_channels", [64]);
        if (channels.Length == 0 || channels.Any(c => c <= 0))
            throw json.Invalid("block_out_channels", json.Raw("block_out_channels"), "expected one positive width per block");
        string[] down = json.StringArray("down_block_types", [DownBlock]);
        string[] up = json.StringArray("up_block_types", [UpBlock]);
        if (down.Length != channels.Length || down.Any(b => b != DownBlock))
            throw json.Invalid("down_block_types", json.Raw("down_block_types"),
                               $"expected \"{DownBlock}\" once per entry of block_out_channels");
        if (up.Length != channels.Length || up.Any(b => b != UpBlock))
            throw json.Invalid("up_block_types", json.Raw("up_block_types"),
                               $"expected \"{UpBlock}\" once per entry of block_out_channels");

        int groups = json.Int("norm_num_groups", 32);
        if (groups <= 0 || channels.Any(c => c % groups != 0))
            throw json.Invalid("norm_num_groups", json.Raw("norm_num_groups"),
                               "every entry of block_out_channels must be a positive multiple of it");
        // Pipelines must apply these around decode; only scaling_factor is applied by ours.
        foreach (string field in new[] { "shift_factor", "latents_mean", "latents_std" })
            if (!json.IsAbsent(field))
                throw json.Invalid(field, json.Raw(field), "latent normalization beyond scaling_factor is not implemented");

        return new AutoencoderKLConfig(
            InChannels: Positive(json, "in_channels", 3),
            OutChannels: Positive(json, "out_channels", 3),
            BlockOutChannels: channels,
            LayersPerBlock: Positive(json, "layers_per_block", 1),
            NormNumGroups: groups,
            LatentChannels: Positive(json, "latent_channels", 4),
            ScalingFactor: json.Double("scaling_factor", 0.18215),
            UseQuantConv: json.Bool("use_quant_conv", true),
            UsePostQuantConv: json.Bool("use_post_quant_conv", true),
            MidBlockAddAttention: json.Bool("mid_block_add_attention", true));
    }

    private static int Positive(ConfigJson json, string name, int defaultValue)
    {
        int value = json.Int(name, defaultValue);
        return value > 0 ? value : throw json.Invalid(name, json.Raw(name), "expected a positive integer");
    }
}
