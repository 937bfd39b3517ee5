using System.Globalization;
using DiscriminativeTokens.Diffusion.Pipelines;
using DiscriminativeTokens.Diffusion.Loading;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Parity.Checks;

/// <summary>
/// StableDiffusionPipeline from reference/pipeline.safetensors: the prompt, guidance and step count in its metadata,
/// the folder's own scheduler and the reference's initial latents, compared step by step.
/// </summary>
public sealed class PipelineCheck : ParityCheck
{
    public override string Component => "pipeline";

    public override string Description =>
        "text-to-image with classifier-free guidance: prompt ids, text context, timesteps, guided noise predictions " +
        "and latents per step, final latents and image";

    public override IEnumerable<TensorComparison> Run(ParityFixture fixture)
    {
        var file = fixture.Reference("pipeline.safetensors");
        var model = fixture.Model;
        string prompt = file.Metadata("prompt");
        string negativePrompt = file.Metadata("negative_prompt");
        int steps = int.Parse(file.Metadata("num_inference_steps"), CultureInfo.InvariantCulture);
        double guidance = double.Parse(file.Metadata("guidance_scale"), CultureInfo.InvariantCulture);
        string scheduler = file.Metadata("scheduler");
        if (model.SchedulerConfig.ClassName != scheduler)
            throw new ParityLoadException($"{file.Path} was made with {scheduler}, but the fixture's scheduler/ folder " +
                                          $"configures {model.SchedulerConfig.ClassName}.");

        yield return Compare(file, "cond_input_ids", Tolerance.Exact,
                             () => tensor(model.Tokenizer.Encode(prompt).InputIds.Select(i => (long)i).ToArray()).unsqueeze(0));
        yield return Compare(file, "uncond_input_ids", Tolerance.Exact,
                             () => tensor(model.Tokenizer.Encode(negativePrompt).InputIds.Select(i => (long)i).ToArray()).unsqueeze(0));
        yield return Compare(file, "encoder_hidden_states", Tolerance.Forward, () =>
        {
            var conditioning = new PromptEncoder(model.Tokenizer, model.TextEncoder).Encode(prompt, negativePrompt, PromptPaddingMode.MaxLength);
            return conditioning.Embeddings;
        });

        foreach (var row in CompareTogether(file, () => Generate(model, file, prompt, negativePrompt, steps, guidance)))
            yield return row;
    }

    private static IEnumerable<(string, Tolerance, Tensor)> Generate(StableDiffusionModel model, ReferenceFile file,
                                                         string prompt, string negativePrompt, int steps, double guidance)
    {
        var timesteps = new List<double>();
        var guided = new List<Tensor>();
        var latents = new List<Tensor>();
        using var result = new TextToImagePipeline(model).Generate(new TextToImageOptions
        {
            Prompt = prompt,
            NegativePrompt = negativePrompt,
            Steps = steps,
            GuidanceScale = guidance,
            InitialLatents = file.Read("initial_latents"),
            StepObserver = step =>
            {
                // The observer runs inside the pipeline's scopes; keep copies outside them.
                timesteps.Add(step.Timestep);
                guided.Add(step.GuidedModelOutput.clone().DetachFromDisposeScope());
                latents.Add(step.Latents.clone().DetachFromDisposeScope());
            },
        });
        var rows = new List<(string, Tolerance, Tensor)>
        {
            ("timesteps", Tolerance.Exact, tensor(timesteps.ToArray())),
            ("guided_noise_preds", Tolerance.Forward, stack(guided)),
            ("latents_per_step", Tolerance.Forward, stack(latents)),
            ("final_latents", Tolerance.Forward, result.Latents.clone()),
            ("image", Tolerance.Forward, result.Images.clone()),
        };
        foreach (var kept in guided.Concat(latents)) kept.Dispose();
        return rows;
    }
}
