using System.Text.Json;

namespace DiscriminativeTokens.Diffusion.Models.Unet;

/// <summary>
/// The architecture-relevant part of a diffusers <c>UNet2DConditionModel</c> config.json (diffusers 0.27 field names
/// and defaults), restricted to what Stable Diffusion 1.x and 2.x use. Values that would build a different
/// architecture (class/addition embeddings, encoder projections, scale-shift resnets, dual or cross-only attention,
/// ...) are refused by <see cref="FromJson"/> with an exception naming the field and value.
/// </summary>
public sealed record UNet2DConditionConfig
{
    public const string ClassName = "UNet2DConditionModel";

    /// <summary>Default latent resolution (height, width); informational, any size divisible by 8 works.</summary>
    public (int Height, int Width)? SampleSize { get; init; }
    public int InChannels { get; init; } = 4;
    public int OutChannels { get; init; } = 4;
    /// <summary>Maps the input sample with 2x - 1 before conv_in.</summary>
    public bool CenterInputSample { get; init; }
    public bool FlipSinToCos { get; init; } = true;
    public double FreqShift { get; init; }
    public IReadOnlyList<string> DownBlockTypes { get; init; } =
        ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"];
    public string MidBlockType { get; init; } = "UNetMidBlock2DCrossAttn";
    public IReadOnlyList<string> UpBlockTypes { get; init; } =
        ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"];
    public IReadOnlyList<int> BlockOutChannels { get; init; } = [320, 640, 1280, 1280];
    public PerBlockSetting LayersPerBlock { get; init; } = 2;
    public int DownsamplePadding { get; init; } = 1;
    public double MidBlockScaleFactor { get; init; } = 1;
    /// <summary>Dropout inside the resnets (diffusers passes it nowhere else); active only in training mode.</summary>
    public double Dropout { get; init; }
    public string ActFn { get; init; } = "silu";
    public int NormNumGroups { get; init; } = 32;
    public double NormEps { get; init; } = 1e-5;
    public PerBlockSetting CrossAttentionDim { get; init; } = 1280;
    public PerBlockSetting TransformerLayersPerBlock { get; init; } = 1;
    /// <summary>
    /// Despite its name, diffusers uses this as the NUMBER OF HEADS of the cross-attention blocks when
    /// <see cref="NumAttentionHeads"/> is unset (the head size is then channels / heads). SD 1.x: 8; SD 2.x: a
    /// per-block list such as [5, 10, 20, 20] (head size 64).
    /// </summary>
    public PerBlockSetting AttentionHeadDim { get; init; } = 8;
    /// <summary>
    /// Number of heads per block; when set it takes precedence over <see cref="AttentionHeadDim"/>. (diffusers 0.27 has
    /// this resolution rule but still refuses a non-null value at construction because of the naming mix-up; we honour
    /// it.)
    /// </summary>
    public PerBlockSetting? NumAttentionHeads { get; init; }
    /// <summary>SD 2.x: proj_in/proj_out of each Transformer2DModel are Linear layers instead of 1x1 convolutions.</summary>
    public bool UseLinearProjection { get; init; }
    /// <summary>Compute attention in float32 when the model runs in half precision (a no-op in float32).</summary>
    public bool UpcastAttention { get; init; }
    /// <summary>Width of the time embedding; null means 4 * block_out_channels[0].</summary>
    public int? TimeEmbeddingDim { get; init; }
    public int ConvInKernel { get; init; } = 3;
    public int ConvOutKernel { get; init; } = 3;

    public int BlockCount => BlockOutChannels.Count;

    /// <summary>Value equality, including the contents of the list-valued fields.</summary>
    public bool Equals(UNet2DConditionConfig? other) =>
        other is not null &&
        SampleSize == other.SampleSize && InChannels == other.InChannels && OutChannels == other.OutChannels &&
        CenterInputSample == other.CenterInputSample && FlipSinToCos == other.FlipSinToCos &&
        FreqShift.Equals(other.FreqShift) && DownBlockTypes.SequenceEqual(other.DownBlockTypes) &&
        MidBlockType == other.MidBlockType && UpBlockTypes.SequenceEqual(other.UpBlockTypes) &&
        BlockOutChannels.SequenceEqual(other.BlockOutChannels) && LayersPerBlock == other.LayersPerBlock &&
        DownsamplePadding == other.DownsamplePadding && MidBlockScaleFactor.Equals(other.MidBlockScaleFactor) &&
        Dropout.Equals(other.Dropout) && ActFn == other.ActFn && NormNumGroups == other.NormNumGroups &&
        NormEps.Equals(other.NormEps) && CrossAttentionDim == other.CrossAttentionDim &&
        TransformerLayersPerBlock == other.TransformerLayersPerBlock && AttentionHeadDim == other.AttentionHeadDim &&
        NumAttentionHeads == other.NumAttentionHeads && UseLinearProjection == other.UseLinearProjection &&
        UpcastAttention == other.UpcastAttention && TimeEmbeddingDim == other.TimeEmbeddingDim &&
        ConvInKernel == other.ConvInKernel && ConvOutKernel == other.ConvOutKernel;

    public override int GetHashCode() =>
        HashCode.Combine(BlockOutChannels.Count > 0 ? BlockOutChannels[0] : 0, BlockCount, InChannels, OutChannels,
                         CrossAttentionDim, AttentionHeadDim, UseLinearProjection, NormEps);
    public int TimeEmbedDim => TimeEmbeddingDim ?? BlockOutChannels[0] * 4;

    /// <summary>Heads of the cross-attention transformers of each down block (the up blocks use them reversed).</summary>
    public int[] AttentionHeadsPerBlock() =>
        NumAttentionHeads is { } heads
            ? heads.Resolve(BlockCount, "num_attention_heads")
            : AttentionHeadDim.Resolve(BlockCount, "attention_head_dim");

    /// <summary>
    /// The UNet of runwayml/stable-diffusion-v1-5 (unet/config.json), for building a randomly initialized model of the
    /// real size (benchmarks) without the weights.
    /// </summary>
    public static UNet2DConditionConfig StableDiffusion15() =>
        FromJson(StableDiffusion15Json, "stable-diffusion-v1-5/unet/config.json");

    /// <summary>The text of that config.json (e.g. to write a model folder of the real size).</summary>
    public const string StableDiffusion15Json = """
        {
          "_class_name": "UNet2DConditionModel",
          "_diffusers_version": "0.6.0",
          "act_fn": "silu",
          "attention_head_dim": 8,
          "block_out_channels": [320, 640, 1280, 1280],
          "center_input_sample": false,
          "cross_attention_dim": 768,
          "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
          "downsample_padding": 1,
          "flip_sin_to_cos": true,
          "freq_shift": 0,
          "in_channels": 4,
          "layers_per_block": 2,
          "mid_block_scale_factor": 1,
          "norm_eps": 1e-05,
          "norm_num_groups": 32,
          "out_channels": 4,
          "sample_size": 64,
          "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
        }
        """;

    /// <summary>Strips the "UNetRes" prefix diffusers also accepts in block type names.</summary>
    public static string NormalizeBlockType(string type) =>
        type.StartsWith("UNetRes", StringComparison.Ordinal) ? type["UNetRes".Length..] : type;

    /// <summary>Checks that the values describe a model this implementation builds; throws naming the field.</summary>
    public void Validate()
    {
        int blocks = BlockCount;
        if (blocks == 0) throw Invalid("block_out_channels", "[]", "at least one block is needed");
        if (DownBlockTypes.Count != blocks)
            throw Invalid("down_block_types", List(DownBlockTypes), $"it must have one entry per block_out_channels entry ({blocks})");
        if (UpBlockTypes.Count != blocks)
            throw Invalid("up_block_types", List(UpBlockTypes), $"it must have as many entries as down_block_types ({blocks})");
        foreach (string type in DownBlockTypes)
            if (NormalizeBlockType(type) is not ("DownBlock2D" or "CrossAttnDownBlock2D"))
                throw Unsupported("down_block_types", List(DownBlockTypes), $"block type '{type}' is not implemented (DownBlock2D, CrossAttnDownBlock2D are)");
        foreach (string type in UpBlockTypes)
            if (NormalizeBlockType(type) is not ("UpBlock2D" or "CrossAttnUpBlock2D"))
                throw Unsupported("up_block_types", List(UpBlockTypes), $"block type '{type}' is not implemented (UpBlock2D, CrossAttnUpBlock2D are)");
        if (MidBlockType != "UNetMidBlock2DCrossAttn")
            throw Unsupported("mid_block_type", MidBlockType, "only UNetMidBlock2DCrossAttn is implemented");
        if (ActFn is not ("silu" or "swish"))
            throw Unsupported("act_fn", ActFn, "only silu (alias swish) is implemented");
        if (InChannels < 1) throw Invalid("in_channels", InChannels.ToString(), "it must be positive");
        if (OutChannels < 1) throw Invalid("out_channels", OutChannels.ToString(), "it must be positive");
        if (NormNumGroups < 1) throw Invalid("norm_num_groups", NormNumGroups.ToString(), "it must be positive");
        foreach (int channels in BlockOutChannels)
            if (channels < 1 || channels % NormNumGroups != 0)
                throw Invalid("block_out_channels", List(BlockOutChannels), $"every entry must be a positive multiple of norm_num_groups ({NormNumGroups})");
        if (!(NormEps > 0)) throw Invalid("norm_eps", NormEps.ToString("R"), "it must be positive");
        if (DownsamplePadding < 0) throw Invalid("downsample_padding", DownsamplePadding.ToString(), "it must not be negative");
        if (!(Dropout >= 0 && Dropout < 1)) throw Invalid("dropout", Dropout.ToString("R"), "it must be in [0, 1)");
        if (MidBlockScaleFactor == 0 || !double.IsFinite(MidBlockScaleFactor))
            throw Invalid("mid_block_scale_factor", MidBlockScaleFactor.ToString("R"), "it divides the mid-block resnet outputs");
        if (ConvInKernel < 1) throw Invalid("conv_in_kernel", ConvInKernel.ToString(), "it must be positive");
        if (ConvOutKernel < 1) throw Invalid("conv_out_kernel", ConvOutKernel.ToString(), "it must be positive");
        if (TimeEmbeddingDim is < 1) throw Invalid("time_embedding_dim", TimeEmbeddingDim.Value.ToString(), "it must be positive");
        if (BlockOutChannels[0] < 2)
            throw Invalid("block_out_channels", List(BlockOutChannels), "the first entry is the sinusoidal timestep width and must be at least 2");

        RequireAtLeastOne(LayersPerBlock.Resolve(blocks, "layers_per_block"), "layers_per_block", LayersPerBlock);
        RequireAtLeastOne(CrossAttentionDim.Resolve(blocks, "cross_attention_dim"), "cross_attention_dim", CrossAttentionDim);
        RequireAtLeastOne(TransformerLayersPerBlock.Resolve(blocks, "transformer_layers_per_block"), "transformer_layers_per_block", TransformerLayersPerBlock);
        string headsField = NumAttentionHeads is null ? "attention_head_dim" : "num_attention_heads";
        int[] heads = AttentionHeadsPerBlock();
        RequireAtLeastOne(heads, headsField, NumAttentionHeads ?? AttentionHeadDim);
        for (int i = 0; i < blocks; i++)
            if (heads[i] > BlockOutChannels[i])
                throw Invalid(headsField, (NumAttentionHeads ?? AttentionHeadDim).ToString(),
                              $"block {i} has {BlockOutChannels[i]} channels, fewer than its {heads[i]} heads");
    }

    private static void RequireAtLeastOne(int[] values, string field, PerBlockSetting setting)
    {
        if (values.Any(v => v < 1)) throw Invalid(field, setting.ToString(), "every value must be at least 1");
    }

    /// <summary>Reads and validates a diffusers unet/config.json.</summary>
    public static UNet2DConditionConfig FromFile(string path) => FromJson(File.ReadAllText(path), path);

    /// <summary>Parses and validates diffusers config.json text; <paramref name="source"/> names it in errors.</summary>
    public static UNet2DConditionConfig FromJson(string json, string source = "config.json")
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source} is not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{source} must hold a JSON object.");
            var config = new UNet2DConditionConfig();
            try
            {
                foreach (JsonProperty field in document.RootElement.EnumerateObject())
                    config = Apply(config, field);
                config.Validate();
            }
            catch (Exception e) when (e is NotSupportedException or InvalidDataException)
            {
                // Re-throw with the file name in front: the message already names the field and value.
                throw e is NotSupportedException
                    ? new NotSupportedException($"{source}: {e.Message}", e)
                    : new InvalidDataException($"{source}: {e.Message}", e);
            }
            return config;
        }
    }

    private static UNet2DConditionConfig Apply(UNet2DConditionConfig c, JsonProperty p)
    {
        switch (p.Name)
        {
            case "_class_name":
                if (p.Value.ValueKind != JsonValueKind.String || p.Value.GetString() != ClassName)
                    throw Unsupported(p, $"this is not a {ClassName} config");
                return c;
            case var name when name.StartsWith('_'):
                return c; // _diffusers_version, _name_or_path: bookkeeping only

            case "sample_size": return c with { SampleSize = ReadSampleSize(p) };
            case "in_channels": return c with { InChannels = ReadInt(p) };
            case "out_channels": return c with { OutChannels = ReadInt(p) };
            case "center_input_sample": return c with { CenterInputSample = ReadBool(p) };
            case "flip_sin_to_cos": return c with { FlipSinToCos = ReadBool(p) };
            case "freq_shift": return c with { FreqShift = ReadNumber(p) };
            case "down_block_types": return c with { DownBlockTypes = ReadStrings(p) };
            case "mid_block_type":
                if (p.Value.ValueKind == JsonValueKind.Null) throw Unsupported(p, "a UNet without a mid block is not implemented");
                return c with { MidBlockType = ReadString(p) };
            case "up_block_types": return c with { UpBlockTypes = ReadStrings(p) };
            case "block_out_channels": return c with { BlockOutChannels = ReadInts(p) };
            case "layers_per_block": return c with { LayersPerBlock = ReadPerBlock(p) };
            case "downsample_padding": return c with { DownsamplePadding = ReadInt(p) };
            case "mid_block_scale_factor": return c with { MidBlockScaleFactor = ReadNumber(p) };
            case "dropout": return c with { Dropout = ReadNumber(p) };
            case "act_fn": return c with { ActFn = ReadString(p) };
            case "norm_num_groups":
                if (p.Value.ValueKind == JsonValueKind.Null) throw Unsupported(p, "a UNet without output normalization is not implemented");
                return c with { NormNumGroups = ReadInt(p) };
            case "norm_eps": return c with { NormEps = ReadNumber(p) };
            case "cross_attention_dim": return c with { CrossAttentionDim = ReadPerBlock(p) };
            case "transformer_layers_per_block": return c with { TransformerLayersPerBlock = ReadPerBlock(p) };
            case "attention_head_dim": return c with { AttentionHeadDim = ReadPerBlock(p) };
            case "num_attention_heads":
                return c with { NumAttentionHeads = p.Value.ValueKind == JsonValueKind.Null ? null : ReadPerBlock(p) };
            case "use_linear_projection": return c with { UseLinearProjection = ReadBool(p) };
            case "upcast_attention": return c with { UpcastAttention = ReadBool(p) };
            case "time_embedding_dim":
                return c with { TimeEmbeddingDim = p.Value.ValueKind == JsonValueKind.Null ? null : ReadInt(p) };
            case "conv_in_kernel": return c with { ConvInKernel = ReadInt(p) };
            case "conv_out_kernel": return c with { ConvOutKernel = ReadInt(p) };

            // Values that would add modules or change the computation: only the SD default is implemented.
            case "only_cross_attention": RequireAllFalse(p, "cross-attention-only transformer blocks are not implemented"); return c;
            case "dual_cross_attention": RequireAllFalse(p, "DualTransformer2DModel is not implemented"); return c;
            case "class_embeddings_concat": RequireAllFalse(p, "it doubles the time embedding width of every block"); return c;
            case "class_embed_type": RequireNull(p, "class embeddings are not implemented"); return c;
            case "num_class_embeds": RequireNull(p, "class embeddings are not implemented"); return c;
            case "addition_embed_type": RequireNull(p, "additional (text/image/time) embeddings are not implemented"); return c;
            case "encoder_hid_dim": RequireNull(p, "an encoder hidden-state projection is not implemented"); return c;
            case "encoder_hid_dim_type": RequireNull(p, "an encoder hidden-state projection is not implemented"); return c;
            case "time_cond_proj_dim": RequireNull(p, "timestep conditioning projections are not implemented"); return c;
            case "time_embedding_act_fn": RequireNull(p, "an extra time-embedding activation is not implemented"); return c;
            case "timestep_post_act": RequireNull(p, "a post-activation in the time embedding is not implemented"); return c;
            case "reverse_transformer_layers_per_block": RequireNull(p, "asymmetric transformer depths are not implemented"); return c;
            case "resnet_time_scale_shift": RequireString(p, "default", "only additive time conditioning of the resnets is implemented"); return c;
            case "time_embedding_type": RequireString(p, "positional", "only sinusoidal (positional) timestep embeddings are implemented"); return c;
            case "attention_type": RequireString(p, "default", "gated (GLIGEN) attention is not implemented"); return c;

            // diffusers passes these only to block types or embeddings refused above, so for DownBlock2D,
            // CrossAttnDownBlock2D, UNetMidBlock2DCrossAttn, UpBlock2D and CrossAttnUpBlock2D they change nothing.
            case "resnet_skip_time_act":
            case "resnet_out_scale_factor":
            case "mid_block_only_cross_attention":
            case "cross_attention_norm":
            case "addition_time_embed_dim":
            case "addition_embed_type_num_heads":
            case "projection_class_embeddings_input_dim":
                return c;

            default:
                throw Unsupported(p, $"it is not a {ClassName} field of diffusers 0.27");
        }
    }

    private static (int, int)? ReadSampleSize(JsonProperty p)
    {
        if (p.Value.ValueKind == JsonValueKind.Null) return null;
        if (p.Value.ValueKind == JsonValueKind.Array)
        {
            var sizes = ReadInts(p);
            if (sizes.Count != 2) throw Invalid(p, "expected an integer or [height, width]");
            return (sizes[0], sizes[1]);
        }
        int size = ReadInt(p);
        return (size, size);
    }

    private static int ReadInt(JsonProperty p) => ReadInt(p, p.Value);

    private static int ReadInt(JsonProperty p, JsonElement e) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int value)
            ? value
            : throw Invalid(p, "expected an integer");

    private static double ReadNumber(JsonProperty p) =>
        p.Value.ValueKind == JsonValueKind.Number ? p.Value.GetDouble() : throw Invalid(p, "expected a number");

    private static bool ReadBool(JsonProperty p) =>
        p.Value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Invalid(p, "expected true or false"),
        };

    private static string ReadString(JsonProperty p) =>
        p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : throw Invalid(p, "expected a string");

    private static IReadOnlyList<int> ReadInts(JsonProperty p) =>
        p.Value.ValueKind == JsonValueKind.Array
            ? p.Value.EnumerateArray().Select(e => ReadInt(p, e)).ToArray()
            : throw Invalid(p, "expected a list of integers");

    private static IReadOnlyList<string> ReadStrings(JsonProperty p) =>
        p.Value.ValueKind == JsonValueKind.Array && p.Value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String)
            ? p.Value.EnumerateArray().Select(e => e.GetString()!).ToArray()
            : throw Invalid(p, "expected a list of strings");

    private static PerBlockSetting ReadPerBlock(JsonProperty p)
    {
        if (p.Value.ValueKind == JsonValueKind.Array)
        {
            if (p.Value.EnumerateArray().Any(e => e.ValueKind == JsonValueKind.Array))
                throw Unsupported(p, "per-layer (nested) lists are not implemented; give one value per block");
            var values = ReadInts(p);
            if (values.Count == 0) throw Invalid(p, "expected a non-empty list");
            return PerBlockSetting.PerBlock([.. values]);
        }
        return PerBlockSetting.Shared(ReadInt(p));
    }

    private static void RequireNull(JsonProperty p, string why)
    {
        if (p.Value.ValueKind != JsonValueKind.Null) throw Unsupported(p, why);
    }

    private static void RequireString(JsonProperty p, string expected, string why)
    {
        if (p.Value.ValueKind != JsonValueKind.String || p.Value.GetString() != expected) throw Unsupported(p, why);
    }

    /// <summary>A bool (or, as diffusers allows for some fields, a per-block list of bools) that must be false.</summary>
    private static void RequireAllFalse(JsonProperty p, string why)
    {
        bool allFalse = p.Value.ValueKind switch
        {
            JsonValueKind.False => true,
            JsonValueKind.Array => p.Value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.False),
            _ => false,
        };
        if (!allFalse) throw Unsupported(p, why);
    }

    private static string List<T>(IEnumerable<T> values) => $"[{string.Join(", ", values)}]";

    private static NotSupportedException Unsupported(JsonProperty p, string why) =>
        Unsupported(p.Name, p.Value.GetRawText(), why);

    private static NotSupportedException Unsupported(string field, string value, string why) =>
        new($"UNet config field '{field}' = {value} is not supported: {why}.");

    private static InvalidDataException Invalid(JsonProperty p, string why) => Invalid(p.Name, p.Value.GetRawText(), why);

    private static InvalidDataException Invalid(string field, string value, string why) =>
        new($"UNet config field '{field}' = {value} is invalid: {why}.");
}
