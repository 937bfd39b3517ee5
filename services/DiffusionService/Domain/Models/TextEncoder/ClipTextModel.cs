using DiscriminativeTokens.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Models.TextEncoder;

/// <summary>
/// transformers' <c>CLIPTextModel</c>, the Stable Diffusion text encoder. Returns last_hidden_state (after the final
/// LayerNorm) for unpadded or padded ids of any length up to max_position_embeddings; no attention mask is applied
/// beyond the causal one, as the diffusers pipelines call it.
/// </summary>
public sealed class ClipTextModel : nn.Module<Tensor, Tensor>
{
    public const string WeightsBaseName = "model";
    private const string PositionIdsKey = "text_model.embeddings.position_ids";

    private readonly ClipTextTransformer text_model;

    public ClipTextConfig Config { get; }

    public ClipTextModel(ClipTextConfig config) : base("CLIPTextModel")
    {
        Config = config;
        text_model = new ClipTextTransformer(config);
        RegisterComponents();
    }

    /// <summary>
    /// Builds the model from <c>{folder}/config.json</c> and loads <c>model.safetensors</c> (or
    /// <c>model.{variant}.safetensors</c>; the fp16 file when it is the only one) strictly, as float32 on
    /// <paramref name="device"/>. The returned model is frozen: eval mode, no parameter requires grad.
    /// </summary>
    public static ClipTextModel Load(string folder, Device device, string? variant = null)
    {
        var config = ClipTextConfig.FromFile(PretrainedFolder.ConfigPath(folder));
        string weights = PretrainedFolder.WeightsPath(folder, WeightsBaseName, variant);
        var model = new ClipTextModel(config);
        try
        {
            model.to(device);
            StateDictLoader.Load(model, [weights], ignoredKeys: [PositionIdsKey]);
            ModuleWeights.Freeze(model);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The token embedding matrix [vocab_size, hidden_size], e.g. to initialize a new token from a row.</summary>
    public Tensor TokenEmbeddingWeight => text_model.Embeddings.TokenEmbeddingWeight;

    /// <summary>last_hidden_state [N, L, hidden] for input ids [N, L].</summary>
    public override Tensor forward(Tensor inputIds) => Forward(inputIds, null);

    /// <summary>last_hidden_state with one token's input embedding replaced (differentiably) by a given vector.</summary>
    public Tensor Forward(Tensor inputIds, TokenEmbeddingOverride? tokenOverride)
    {
        using var scope = NewDisposeScope();
        var inputsEmbeds = EmbedTokens(inputIds, tokenOverride);
        return text_model.forward(inputsEmbeds).MoveToOuterDisposeScope();
    }

    /// <summary>inputs_embeds [N, L, hidden]: token embeddings before positions are added.</summary>
    public Tensor EmbedTokens(Tensor inputIds, TokenEmbeddingOverride? tokenOverride = null) =>
        text_model.Embeddings.EmbedTokens(inputIds, tokenOverride);

    /// <summary>last_hidden_state from inputs_embeds [N, L, hidden] (transformers' <c>inputs_embeds</c> argument).</summary>
    public Tensor ForwardEmbeddings(Tensor inputsEmbeds) => text_model.forward(inputsEmbeds);

    /// <summary>
    /// SHA-256 over this encoder's weights (see <see cref="ModuleWeights.Sha256"/>): identifies the embedding space a
    /// learned token belongs to. Weights loaded from an fp16 file hash differently from the float32 originals.
    /// </summary>
    public string ComputeWeightsSha256() => ModuleWeights.Sha256(this);
}
