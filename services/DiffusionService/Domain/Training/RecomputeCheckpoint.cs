using DiscriminativeTokens.Diffusion.Pipelines;
using DiscriminativeTokens.Diffusion.Schedulers;
using DiscriminativeTokens.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Diffusion.Training;

/// <summary>
/// <see cref="GradientMemoryMode.Recompute"/>: the latent entering the first differentiated UNet call, a fork of the
/// scheduler at that point (its history is what that call's step needs) and a copy of the token vector. Nothing of
/// the forward pass's autograd graph survives it.
/// <para>Backward, with K differentiated calls:</para>
/// <list type="number">
/// <item>Re-encode the prompt from the vector under autograd (cheap, and the only way the gradient reaches v).</item>
/// <item>Replay the K calls with the UNet under no_grad, turning each guided output into a leaf, so only the
/// scheduler's cheap arithmetic is recorded: every UNet input is then a function of the earlier outputs.</item>
/// <item>Backpropagate dLoss/dImage through the decode (recomputed under autograd, then freed) and the scheduler
/// arithmetic into the output leaves.</item>
/// <item>For the calls from last to first: the gradient at the output of call k is complete once every later call
/// is done; recompute call k under autograd, take its vector-Jacobian product with respect to its input and the text
/// context, free its graph, and push the input's gradient back through the scheduler arithmetic into earlier outputs.</item>
/// <item>Backpropagate the summed context gradient through the text encoder into v.</item>
/// </list>
/// At most one UNet call's activations are alive at any time, so memory does not grow with K.
/// </summary>
internal sealed class RecomputeCheckpoint : BackwardState
{
    private readonly GuidedDenoiser _denoiser;
    private readonly Func<Tensor, PromptConditioning> _encodePrompt;
    private readonly int _firstCall;
    private Tensor? _vector;
    private Tensor? _startLatents;
    private Scheduler? _scheduler;

    /// <summary>Takes ownership of the vector, the latents and the scheduler fork.</summary>
    public RecomputeCheckpoint(GuidedDenoiser denoiser, Func<Tensor, PromptConditioning> encodePrompt,
                               Tensor vector, Tensor startLatents, Scheduler schedulerAtFirstCall, int firstCall)
    {
        _denoiser = denoiser;
        _encodePrompt = encodePrompt;
        _vector = vector;
        _startLatents = startLatents;
        _scheduler = schedulerAtFirstCall;
        _firstCall = firstCall;
    }

    public override Tensor Backward(Tensor imageGradient)
    {
        ObjectDisposedException.ThrowIf(_scheduler is null || _vector is null || _startLatents is null, this);
        using var scope = NewDisposeScope();
        using var gradMode = enable_grad();

        var vector = _vector.detach().clone().requires_grad_(true);
        using PromptConditioning conditioning = _encodePrompt(vector);
        Tensor context = conditioning.Embeddings;
        Tensor constantContext = context.detach();

        // 2. Replay: UNet outputs become leaves, the scheduler arithmetic between them is recorded.
        using Scheduler scheduler = _scheduler.Fork();
        Tensor timesteps = scheduler.TimestepsTensor(_startLatents.device);
        int calls = scheduler.ModelCallsPerRun;
        var modelInputs = new List<Tensor>();
        var outputs = new List<Tensor>();
        Tensor latents = _startLatents.alias();
        for (int call = _firstCall; call < calls; call++)
        {
            Tensor input = _denoiser.ModelInput(scheduler, latents, call);
            Tensor output;
            using (no_grad())
                output = _denoiser.Predict(input.detach(), timesteps[call], constantContext);
            output.requires_grad_(true);
            modelInputs.Add(input);
            outputs.Add(output);
            latents = scheduler.Step(output, call, latents);
        }

        // 3. Through the decode, then through the scheduler arithmetic into the output leaves.
        Tensor finalLatentsGradient;
        using (var decodeScope = NewDisposeScope())
        {
            var finalLatents = latents.detach().requires_grad_(true);
            var image = _denoiser.DecodeImage(finalLatents);
            finalLatentsGradient = Gradients([image], [finalLatents], [imageGradient])[0].MoveToOuterDisposeScope();
        }
        autograd.backward([latents], [finalLatentsGradient], retain_graph: true, inputs: outputs);

        // 4. Through each UNet call, latest first.
        Tensor contextGradient = zeros_like(constantContext);
        for (int k = outputs.Count - 1; k >= 0; k--)
        {
            using var callScope = NewDisposeScope();
            Tensor? outputGradient = outputs[k].grad;
            if (outputGradient is null)
                continue;   // this output does not reach the image
            bool inputDependsOnEarlierCalls = modelInputs[k].requires_grad;
            var inputLeaf = modelInputs[k].detach().requires_grad_(inputDependsOnEarlierCalls);
            var contextLeaf = constantContext.detach().requires_grad_(true);
            var recomputed = _denoiser.Predict(inputLeaf, timesteps[_firstCall + k], contextLeaf);
            var gradients = Gradients([recomputed], inputDependsOnEarlierCalls ? [contextLeaf, inputLeaf] : [contextLeaf],
                                      [outputGradient]);
            contextGradient.PlusInPlace(gradients[0]);
            if (inputDependsOnEarlierCalls)
                autograd.backward([modelInputs[k]], [gradients[1]], retain_graph: true, inputs: outputs.GetRange(0, k));
        }

        // 5. Into the vector.
        Tensor vectorGradient = autograd.grad([context], [vector], [contextGradient])[0];
        return vectorGradient.MoveToOuterDisposeScope();
    }

    /// <summary>autograd.grad where CPU convolutions backpropagate correctly (the UNet's and VAE's); the replayed
    /// forward passes keep the fast kernels.</summary>
    private static IList<Tensor> Gradients(Tensor[] outputs, Tensor[] inputs, Tensor[] outputGradients)
    {
        using var reliable = OneDnnConvolutionBackward.ReliableGradients();
        return autograd.grad(outputs, inputs, outputGradients);
    }

    public override void Dispose()
    {
        _vector?.Dispose();
        _vector = null;
        _startLatents?.Dispose();
        _startLatents = null;
        _scheduler?.Dispose();
        _scheduler = null;
    }
}
