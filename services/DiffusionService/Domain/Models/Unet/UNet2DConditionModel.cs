using System.Text.Json;
using DiscriminativeTokens.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.Unet;

/// <summary>
/// Stable Diffusion's noise-prediction UNet, equivalent to diffusers 0.27's UNet2DConditionModel for SD 1.x/2.x
/// configs, with the same parameter names (e.g. <c>down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight</c>),
/// so a diffusers checkpoint loads without any key mapping.
/// </summary>
public sealed class UNet2DConditionModel : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    public const string ConfigFileName = "config.json";
    public const string WeightsFileName = "diffusion_pytorch_model.safetensors";
    public const string HalfPrecisionWeightsFileName = "diffusion_pytorch_model.fp16.safetensors";

    private readonly Conv2d conv_in;
    private readonly TimestepEmbedding time_embedding;
    private readonly ModuleList<UNetDownBlock> down_blocks;
    private readonly UNetMidBlock2DCrossAttn mid_block;
    private readonly ModuleList<UNetUpBlock> up_blocks;
    private readonly GroupNorm conv_norm_out;
    private readonly Conv2d conv_out;
    private readonly int _upsamplerCount;

    public UNet2DConditionConfig Config { get; }
    public IReadOnlyList<UNetDownBlock> DownBlocks => [.. down_blocks];
    public UNetMidBlock2DCrossAttn MidBlock => mid_block;
    public IReadOnlyList<UNetUpBlock> UpBlocks => [.. up_blocks];

    /// <summary>
    /// Builds the architecture <paramref name="config"/> describes on <paramref name="device"/>, with PyTorch's
    /// default initialization (Kaiming-uniform convolutions and linears, norms at weight 1 / bias 0).
    /// </summary>
    public UNet2DConditionModel(UNet2DConditionConfig config, Device device) : base(nameof(UNet2DConditionModel))
    {
        config.Validate();
        Config = config;
        int blocks = config.BlockCount;
        var channels = config.BlockOutChannels;
        int[] layers = config.LayersPerBlock.Resolve(blocks, "layers_per_block");
        int[] crossDims = config.CrossAttentionDim.Resolve(blocks, "cross_attention_dim");
        int[] depths = config.TransformerLayersPerBlock.Resolve(blocks, "transformer_layers_per_block");
        int[] heads = config.AttentionHeadsPerBlock();
        var resnet = new ResnetSettings(config.TimeEmbedDim, config.NormNumGroups, config.NormEps, config.Dropout);
        CrossAttentionSettings Attention(int i) => new(heads[i], depths[i], crossDims[i], config.NormNumGroups,
                                                        config.UseLinearProjection, config.UpcastAttention);

        conv_in = nn.Conv2d(config.InChannels, channels[0], kernel_size: config.ConvInKernel, stride: 1,
                            padding: (config.ConvInKernel - 1) / 2, device: device);
        time_embedding = new TimestepEmbedding(channels[0], config.TimeEmbedDim, device);

        down_blocks = new ModuleList<UNetDownBlock>();
        for (int i = 0; i < blocks; i++)
        {
            int input = channels[Math.Max(i - 1, 0)];
            bool downsample = i < blocks - 1;
            down_blocks.Add(UNet2DConditionConfig.NormalizeBlockType(config.DownBlockTypes[i]) == "CrossAttnDownBlock2D"
                ? new CrossAttnDownBlock2D(input, channels[i], layers[i], resnet, Attention(i), downsample,
                                           config.DownsamplePadding, device)
                : new DownBlock2D(input, channels[i], layers[i], resnet, downsample, config.DownsamplePadding, device));
        }

        mid_block = new UNetMidBlock2DCrossAttn(channels[^1], resnet, Attention(blocks - 1), config.MidBlockScaleFactor,
                                                device);

        // The up path mirrors the down path: stage i works at the width of down stage (blocks-1-i) and uses that
        // stage's settings (diffusers reverses every per-block list), with one resnet more than the down stage.
        up_blocks = new ModuleList<UNetUpBlock>();
        for (int i = 0; i < blocks; i++)
        {
            int mirrored = blocks - 1 - i;
            int output = channels[mirrored];
            int previous = channels[Math.Min(mirrored + 1, blocks - 1)];
            int skipSource = channels[Math.Max(mirrored - 1, 0)];
            bool upsample = i < blocks - 1;
            if (upsample) _upsamplerCount++;
            up_blocks.Add(UNet2DConditionConfig.NormalizeBlockType(config.UpBlockTypes[i]) == "CrossAttnUpBlock2D"
                ? new CrossAttnUpBlock2D(skipSource, previous, output, layers[mirrored] + 1, resnet, Attention(mirrored),
                                         upsample, device)
                : new UpBlock2D(skipSource, previous, output, layers[mirrored] + 1, resnet, upsample, device));
        }

        conv_norm_out = NormalizationLayers.GroupNorm(config.NormNumGroups, channels[0], config.NormEps, device);
        conv_out = nn.Conv2d(channels[0], config.OutChannels, kernel_size: config.ConvOutKernel, stride: 1,
                             padding: (config.ConvOutKernel - 1) / 2, device: device);
        RegisterComponents();
    }

    /// <summary>
    /// Loads a diffusers <c>unet/</c> folder: config.json plus diffusion_pytorch_model.safetensors (or, when only it
    /// exists, the .fp16 variant, converted to float32; sharded *.safetensors.index.json checkpoints too). Every
    /// parameter must be present with the right shape and nothing may be left over. The model is returned in eval
    /// mode with every parameter frozen (requires_grad false): gradients still flow through it to its inputs.
    /// </summary>
    public static UNet2DConditionModel Load(string folder, Device device)
    {
        string configPath = Path.Combine(folder, ConfigFileName);
        if (!File.Exists(configPath))
            throw new FileNotFoundException($"{folder} is not a diffusers UNet folder: {ConfigFileName} is missing.", configPath);
        var config = UNet2DConditionConfig.FromFile(configPath);
        var files = FindWeightFiles(folder);
        var model = new UNet2DConditionModel(config, device);
        try
        {
            StateDictLoader.Load(model, files);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return model.Frozen();
    }

    /// <summary>
    /// A randomly initialized model of the given architecture (e.g. <see cref="UNet2DConditionConfig.StableDiffusion15"/>
    /// for benchmarks); seed with torch.manual_seed beforehand for reproducible weights. Eval mode, parameters frozen.
    /// </summary>
    public static UNet2DConditionModel CreateRandom(UNet2DConditionConfig config, Device device) =>
        new UNet2DConditionModel(config, device).Frozen();

    private UNet2DConditionModel Frozen()
    {
        eval();
        foreach (var parameter in parameters())
            parameter.requires_grad = false;
        return this;
    }

    private static IReadOnlyList<string> FindWeightFiles(string folder)
    {
        foreach (string name in new[] { WeightsFileName, HalfPrecisionWeightsFileName })
        {
            string path = Path.Combine(folder, name);
            if (File.Exists(path)) return [path];
            string index = path + ".index.json";
            if (File.Exists(index)) return ShardsOf(index, folder);
        }
        foreach (string name in new[] { "diffusion_pytorch_model.bin", "diffusion_pytorch_model.fp16.bin" })
        {
            string path = Path.Combine(folder, name);
            if (File.Exists(path)) ModelFileGuard.RefusePickle(path); // throws, explaining how to convert
        }
        throw new FileNotFoundException($"{folder} has no UNet weights: expected {WeightsFileName} or " +
                                        $"{HalfPrecisionWeightsFileName} (or a sharded .index.json of either).");
    }

    /// <summary>The distinct shard files a safetensors index.json maps the weights to.</summary>
    private static IReadOnlyList<string> ShardsOf(string indexPath, string folder)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(indexPath));
        if (!document.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{indexPath} has no weight_map object.");
        return map.EnumerateObject()
            .Select(entry => entry.Value.GetString() ?? throw new InvalidDataException($"{indexPath}: '{entry.Name}' maps to no file."))
            .Distinct(StringComparer.Ordinal)
            .Select(file => Path.Combine(folder, file))
            .ToList();
    }

    /// <summary>Noise prediction for one integer timestep shared by the whole batch.</summary>
    public Tensor forward(Tensor sample, long timestep, Tensor encoderHiddenStates)
    {
        using var steps = tensor(new[] { timestep }, ScalarType.Int64, sample.device);
        return forward(sample, steps, encoderHiddenStates);
    }

    /// <summary>Noise prediction for one (possibly fractional) timestep shared by the whole batch.</summary>
    public Tensor forward(Tensor sample, double timestep, Tensor encoderHiddenStates)
    {
        using var steps = tensor(new[] { timestep }, ScalarType.Float64, sample.device);
        return forward(sample, steps, encoderHiddenStates);
    }

    /// <summary>
    /// Predicts the model output (noise for epsilon-prediction checkpoints, v for v-prediction ones).
    /// Differentiable with respect to <paramref name="sample"/> and <paramref name="encoderHiddenStates"/>.
    /// </summary>
    /// <param name="sample">[N, in_channels, H, W] noisy latents.</param>
    /// <param name="timestep">A scalar, [1] or [N] tensor of integer or fractional timesteps.</param>
    /// <param name="encoderHiddenStates">[N, S, cross_attention_dim] text embeddings.</param>
    /// <returns>[N, out_channels, H, W]</returns>
    public override Tensor forward(Tensor sample, Tensor timestep, Tensor encoderHiddenStates)
    {
        CheckInputs(sample, encoderHiddenStates);
        using var scope = NewDisposeScope();
        long batch = sample.shape[0];

        // Sizes that are not a multiple of the total downsampling factor need explicit upsampler output sizes.
        long factor = 1L << _upsamplerCount;
        bool explicitUpsampleSizes = sample.shape[2] % factor != 0 || sample.shape[3] % factor != 0;

        if (Config.CenterInputSample) sample = sample.Times(2L).Minus(1.0);

        var timesteps = BatchTimesteps(timestep, batch, sample.device);
        var features = SinusoidalTimestepEncoding.Encode(timesteps, Config.BlockOutChannels[0], Config.FlipSinToCos,
                                                         Config.FreqShift).to(sample.dtype);
        var temb = time_embedding.call(features);

        var hidden = conv_in.call(sample);
        var skips = new List<Tensor> { hidden };
        foreach (var block in down_blocks)
        {
            (hidden, var blockSkips) = block.forward(hidden, temb, encoderHiddenStates);
            skips.AddRange(blockSkips);
        }

        hidden = mid_block.call(hidden, temb, encoderHiddenStates);

        long[]? upsampleSize = null;
        for (int i = 0; i < up_blocks.Count; i++)
        {
            var block = up_blocks[i];
            int take = block.SkipCount;
            var blockSkips = skips.GetRange(skips.Count - take, take);
            skips.RemoveRange(skips.Count - take, take);
            if (i < up_blocks.Count - 1 && explicitUpsampleSizes)
                upsampleSize = [skips[^1].shape[2], skips[^1].shape[3]];
            hidden = block.forward(hidden, blockSkips, temb, encoderHiddenStates, upsampleSize);
        }

        hidden = conv_out.call(nn.functional.silu(conv_norm_out.call(hidden)));
        return hidden.MoveToOuterDisposeScope();
    }

    private void CheckInputs(Tensor sample, Tensor encoderHiddenStates)
    {
        if (sample.dim() != 4 || sample.shape[1] != Config.InChannels)
            throw new ArgumentException($"The UNet expects a sample of shape [N, {Config.InChannels}, H, W], got " +
                                        $"[{string.Join(", ", sample.shape)}].", nameof(sample));
        if (encoderHiddenStates.dim() != 3 || encoderHiddenStates.shape[0] != sample.shape[0])
            throw new ArgumentException("The UNet expects encoder hidden states of shape [N, S, cross_attention_dim] " +
                                        $"with N = {sample.shape[0]}, got [{string.Join(", ", encoderHiddenStates.shape)}].",
                                        nameof(encoderHiddenStates));
        int[] crossDims = Config.CrossAttentionDim.Resolve(Config.BlockCount, "cross_attention_dim");
        // The mid block always attends to the context, so its width must match (per-block widths are checked by
        // the layers themselves).
        if (crossDims.Distinct().Count() == 1 && encoderHiddenStates.shape[2] != crossDims[0])
            throw new ArgumentException($"The UNet's cross_attention_dim is {crossDims[0]} but the encoder hidden states " +
                                        $"have width {encoderHiddenStates.shape[2]}.", nameof(encoderHiddenStates));
    }

    /// <summary>A [N] timestep tensor on <paramref name="device"/>: scalars and [1] tensors are broadcast.</summary>
    private static Tensor BatchTimesteps(Tensor timestep, long batch, Device device)
    {
        var steps = timestep.dim() == 0 ? timestep.unsqueeze(0) : timestep;
        if (steps.dim() != 1 || (steps.shape[0] != 1 && steps.shape[0] != batch))
            throw new ArgumentException($"Timesteps must be a scalar, [1] or [{batch}] tensor, got " +
                                        $"[{string.Join(", ", timestep.shape)}].", nameof(timestep));
        return steps.to(device).expand(batch);
    }
}
