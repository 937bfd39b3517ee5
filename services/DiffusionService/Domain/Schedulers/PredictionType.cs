namespace DiscriminativeTokens.Diffusion.Schedulers;

/// <summary>What the denoising model predicts (diffusers <c>prediction_type</c>).</summary>
public enum PredictionType
{
    /// <summary>"epsilon": the added noise (SD 1.x, SD 2.x-base).</summary>
    Epsilon,

    /// <summary>"v_prediction": v = sqrt(alpha_bar)·noise − sqrt(1−alpha_bar)·x0 (SD 2.x 768).</summary>
    VPrediction,

    /// <summary>"sample": the clean sample x0.</summary>
    Sample,
}
