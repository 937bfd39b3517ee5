using System.Diagnostics;
using DiscriminativeTokens.Orchestration.Backends;

namespace DiscriminativeTokens.Orchestration.Training;

/// <summary>
/// The discriminative-token optimization loop (DESIGN.md §1, §3). Each epoch generates N images from the same
/// starting latents (the seed restarts every epoch) with the current token, classifies them, backpropagates each
/// classifier gradient to the token, averages the N token gradients, clips that once and takes one AdamW step on
/// the token vector only. The token with the lowest epoch loss is kept. A micro-step whose backends failed
/// transiently is redone from its start; a checkpoint after every step lets a stopped run continue bit for bit.
/// </summary>
public sealed class TrainingLoop
{
    private readonly IDiffusionBackend _diffusion;
    private readonly IClassifierBackend _classifier;
    private readonly TrainingSettings _settings;
    private readonly ITrainingObserver _observer;
    private readonly MicroStepRetryOptions _retry;
    private readonly TimeProvider _time;

    public TrainingLoop(IDiffusionBackend diffusion, IClassifierBackend classifier, TrainingSettings settings,
        ITrainingObserver observer, MicroStepRetryOptions? retry = null, TimeProvider? time = null)
    {
        _diffusion = diffusion ?? throw new ArgumentNullException(nameof(diffusion));
        _classifier = classifier ?? throw new ArgumentNullException(nameof(classifier));
        _settings = settings ?? throw new ArgumentNullException(nameof(settings));
        _observer = observer ?? throw new ArgumentNullException(nameof(observer));
        _retry = retry ?? new MicroStepRetryOptions();
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Trains from the initializer's embedding, or continues from <paramref name="resumeFrom"/>.</summary>
    public async Task<TrainingOutcome> RunAsync(TrainingCheckpoint? resumeFrom, CancellationToken cancellationToken)
    {
        var settings = _settings;
        CheckSettings(settings);
        var prompts = PromptBuilder.ForEpoch(settings.PromptTemplates, settings.Placeholder, settings.ClassPromptName,
                                             settings.MicroStepsPerEpoch);
        var model = await _diffusion.GetModelInfoAsync(cancellationToken);
        int imageSize = settings.ImageSize ?? model.SampleSize;
        var classes = await _classifier.GetInfoAsync(cancellationToken);
        if (settings.ClassId >= classes.NumClasses)
            throw new ArgumentException($"Class id {settings.ClassId} is out of range: classifier {classes.ModelId} has classes " +
                                        $"0..{classes.NumClasses - 1}.");

        var progress = resumeFrom is null
            ? Progress.Start(await _diffusion.GetTokenEmbeddingAsync(settings.Initializer, cancellationToken), model)
            : Progress.Resume(resumeFrom, settings, model);
        using var optimizer = resumeFrom is null
            ? new TokenOptimizer(progress.Token, settings)
            : TokenOptimizer.FromCheckpoint(resumeFrom, settings);
        var sessionOptions = new GradientSessionOptions(settings.Placeholder, settings.GradientPath,
            settings.GradientPath == GradientPath.LastK ? settings.LastKCalls : 0, settings.MemoryMode);

        for (int epoch = progress.EpochsCompleted; ; epoch++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long started = _time.GetTimestamp();
            float[] token = optimizer.Token;
            // The reference re-seeds its generator at the start of every epoch: the same latents each epoch.
            var latents = EpochNoise.Draw(settings.Seed, settings.MicroStepsPerEpoch, model.LatentChannels, imageSize,
                                          imageSize, model.VaeScaleFactor);
            var results = await RunEpochAsync(epoch, token, prompts, latents, imageSize, sessionOptions, cancellationToken);

            double loss = results.Average(r => (double)r.Loss);
            double accuracy = results.Count(r => r.PredictedClassId == settings.ClassId) / (double)results.Length;
            bool best = loss < progress.BestLoss;
            if (best)
            {
                progress.BestLoss = loss;
                progress.BestToken = token;
                progress.BestEpoch = epoch;
                progress.EpochsWithoutImprovement = 0;
            }
            else
            {
                progress.EpochsWithoutImprovement++;
            }
            int epochsDone = epoch + 1;
            StopReason? stop = accuracy > settings.TargetAccuracy ? StopReason.TargetAccuracy
                : progress.EpochsWithoutImprovement >= settings.PatienceEpochs ? StopReason.Patience
                : epochsDone >= settings.MaxEpochs ? StopReason.MaxEpochs
                : null;

            optimizer.SetGradient(MeanGradient(results));
            // One clip of the accumulated gradient, right before the step (the reference clips inside accumulation).
            // A stopping epoch takes no step; its norms are still reported.
            var clip = optimizer.ClipGradient();
            if (stop is null) optimizer.Step();
            _observer.OnEpoch(new EpochReport(epoch, loss, accuracy, clip.NormBefore, clip.NormAfter, best,
                                              _time.GetElapsedTime(started).TotalSeconds));
            if (stop is { } reason)
                return new TrainingOutcome(progress.BestToken!, progress.BestLoss, progress.BestEpoch, epochsDone, accuracy,
                                           reason, prompts);

            var (expAvg, expAvgSq, steps) = optimizer.ExportState();
            var checkpoint = new TrainingCheckpoint
            {
                EpochsCompleted = epochsDone,
                Token = optimizer.Token,
                ExpAvg = expAvg,
                ExpAvgSq = expAvgSq,
                OptimizerSteps = steps,
                BestLoss = progress.BestLoss,
                BestToken = progress.BestToken,
                BestEpoch = progress.BestEpoch,
                EpochsWithoutImprovement = progress.EpochsWithoutImprovement,
                LastAccuracy = accuracy,
                Seed = settings.Seed,
            };
            await _observer.OnCheckpointAsync(checkpoint, cancellationToken);
        }
    }

    private async Task<MicroStepResult[]> RunEpochAsync(int epoch, float[] token, IReadOnlyList<string> prompts,
        IReadOnlyList<TensorData> latents, int imageSize, GradientSessionOptions sessionOptions,
        CancellationToken cancellationToken)
    {
        var results = new MicroStepResult[prompts.Count];
        await using var pass = new EpochPass(_diffusion, _classifier, _settings, sessionOptions, prompts, latents, token,
                                             imageSize, cancellationToken);
        var pipeline = MicroStepRetryPipeline.Build(_retry, _time, async report =>
        {
            _observer.OnRetry(report);
            await pass.ResetAsync();
        });
        for (int i = 0; i < prompts.Count; i++)
        {
            long started = _time.GetTimestamp();
            int index = i;
            // The gradient of a micro-step counts only once its backward succeeded; a failed attempt leaves nothing.
            var result = await pipeline.ExecuteAsync(
                static async (state, token) => await state.pass.RunAsync(state.index, token),
                (pass, index), cancellationToken);
            results[i] = result;
            _observer.OnMicroStep(new MicroStepReport(epoch, i, prompts[i], _settings.Seed, result.Loss,
                                                      result.PredictedClassId, result.TargetProbability,
                                                      _time.GetElapsedTime(started).TotalSeconds));
        }
        return results;
    }

    /// <summary>The mean of the micro-step gradients, summed in index order (the reference divides each loss by the
    /// accumulation steps), so the result does not depend on the order in which micro-steps finished.</summary>
    private static float[] MeanGradient(MicroStepResult[] results)
    {
        int size = results[0].Gradient.Length;
        var sum = new double[size];
        foreach (var result in results)
            for (int j = 0; j < size; j++)
                sum[j] += result.Gradient[j];
        var mean = new float[size];
        for (int j = 0; j < size; j++)
            mean[j] = (float)(sum[j] / results.Length);
        return mean;
    }

    private static void CheckSettings(TrainingSettings s)
    {
        static void AtLeastOne(string name, int value)
        {
            if (value < 1) throw new ArgumentException($"{name} must be at least 1; it is {value}.");
        }

        AtLeastOne(nameof(s.MicroStepsPerEpoch), s.MicroStepsPerEpoch);
        AtLeastOne(nameof(s.Steps), s.Steps);
        AtLeastOne(nameof(s.MaxEpochs), s.MaxEpochs);
        AtLeastOne(nameof(s.PatienceEpochs), s.PatienceEpochs);
        if (s.GradientPath == GradientPath.LastK) AtLeastOne(nameof(s.LastKCalls), s.LastKCalls);
        if (s.ClassId < 0) throw new ArgumentException($"ClassId must be 0 or more (0-based); it is {s.ClassId}.");
        if (s.ImageSize is < 1) throw new ArgumentException($"ImageSize must be positive or null (the model's); it is {s.ImageSize}.");
        if (!double.IsFinite(s.GuidanceScale) || s.GuidanceScale < 1)
            throw new ArgumentException($"GuidanceScale must be at least 1 (1 turns guidance off); it is {s.GuidanceScale}.");
        if (double.IsNaN(s.TargetAccuracy))
            throw new ArgumentException("TargetAccuracy is NaN; give a share between 0 and 1.");
        if (string.IsNullOrWhiteSpace(s.Initializer))
            throw new ArgumentException("Initializer is empty; give the vocabulary word the token starts from, e.g. \"a\".");
    }

    /// <summary>What the loop carries from epoch to epoch besides the optimizer.</summary>
    private sealed class Progress
    {
        public required float[] Token { get; init; }
        public int EpochsCompleted { get; init; }
        public double BestLoss { get; set; } = double.PositiveInfinity;
        public float[]? BestToken { get; set; }
        public int BestEpoch { get; set; } = -1;
        public int EpochsWithoutImprovement { get; set; }

        public static Progress Start(float[] initial, DiffusionModelInfo model)
        {
            if (initial.Length != model.TextHiddenSize)
                throw new BackendException("diffusion", BackendFailure.Internal,
                    $"The initializer's embedding has {initial.Length} values; {model.ModelId} has hidden size {model.TextHiddenSize}.");
            return new Progress { Token = initial };
        }

        public static Progress Resume(TrainingCheckpoint checkpoint, TrainingSettings settings, DiffusionModelInfo model)
        {
            int hidden = model.TextHiddenSize;
            void Check(bool ok, string problem)
            {
                if (!ok) throw new ArgumentException($"The checkpoint cannot be resumed: {problem}");
            }

            Check(checkpoint.Token.Length == hidden,
                  $"its token has {checkpoint.Token.Length} values but {model.ModelId} has hidden size {hidden}.");
            Check(checkpoint.ExpAvg.Length == hidden && checkpoint.ExpAvgSq.Length == hidden,
                  "its AdamW moments do not match the token's size.");
            Check(checkpoint.BestToken is null || checkpoint.BestToken.Length == hidden, "its best token has the wrong size.");
            Check(checkpoint.Seed == settings.Seed,
                  $"it was made with seed {checkpoint.Seed}, the settings say {settings.Seed}; resume with the same settings.");
            Check(checkpoint.EpochsCompleted >= 1 && checkpoint.EpochsCompleted < settings.MaxEpochs,
                  $"it records {checkpoint.EpochsCompleted} completed epochs, outside 1..{settings.MaxEpochs - 1} (MaxEpochs {settings.MaxEpochs}).");
            Check(checkpoint.OptimizerSteps >= 0, $"its optimizer step count {checkpoint.OptimizerSteps} is negative.");
            return new Progress
            {
                Token = checkpoint.Token,
                EpochsCompleted = checkpoint.EpochsCompleted,
                BestLoss = checkpoint.BestToken is null ? double.PositiveInfinity : checkpoint.BestLoss,
                BestToken = checkpoint.BestToken,
                BestEpoch = checkpoint.BestEpoch,
                EpochsWithoutImprovement = checkpoint.EpochsWithoutImprovement,
            };
        }
    }
}
