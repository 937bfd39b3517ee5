using System.Collections.Concurrent;
using DiscriminativeTokens.Contracts.Orchestrator.V1;
using DiscriminativeTokens.Orchestration.Backends;
using DiscriminativeTokens.Orchestration.Evaluation;
using DiscriminativeTokens.Orchestration.Jobs;
using DiscriminativeTokens.Orchestration.Training;

namespace DiscriminativeTokens.Orchestrator.Tests.Fakes;

/// <summary>
/// A deterministic stand-in for the training loop: each epoch reports its micro-steps, takes an Adam-like step on
/// loss = mean(token²), reports the epoch and checkpoints. Its next state depends only on the checkpointed state, so
/// a run resumed from a checkpoint must end with exactly the token of an uninterrupted run — as the real loop's must.
/// <see cref="BeforeEpoch"/> lets a test block or fail at a chosen epoch.
/// </summary>
public sealed class ScriptedTrainingEngine : ITrainingEngine
{
    public Func<int, CancellationToken, Task>? BeforeEpoch { get; set; }
    public ConcurrentQueue<TrainingCheckpoint?> ResumedFrom { get; } = new();

    public async Task<TrainingOutcome> RunAsync(IDiffusionBackend diffusion, IClassifierBackend classifier,
        TrainingSettings settings, ITrainingObserver observer, MicroStepRetryOptions retry, TrainingCheckpoint? resumeFrom,
        CancellationToken cancellationToken)
    {
        ResumedFrom.Enqueue(resumeFrom);
        float[] token = resumeFrom?.Token.ToArray() ?? await diffusion.GetTokenEmbeddingAsync(settings.Initializer, cancellationToken);
        int n = token.Length;
        float[] m = resumeFrom?.ExpAvg.ToArray() ?? new float[n];
        float[] v = resumeFrom?.ExpAvgSq.ToArray() ?? new float[n];
        long steps = resumeFrom?.OptimizerSteps ?? 0;
        double best = resumeFrom?.BestLoss ?? double.PositiveInfinity;
        float[]? bestToken = resumeFrom?.BestToken?.ToArray();
        int bestEpoch = resumeFrom?.BestEpoch ?? -1;
        int without = resumeFrom?.EpochsWithoutImprovement ?? 0;
        double accuracy = resumeFrom?.LastAccuracy ?? 0;
        var prompts = settings.PromptTemplates
            .Select(t => t.Replace("{token}", settings.Placeholder).Replace("{class}", settings.ClassPromptName)).ToList();
        int epoch = resumeFrom?.EpochsCompleted ?? 0;
        for (; epoch < settings.MaxEpochs; epoch++)
        {
            if (BeforeEpoch is not null) await BeforeEpoch(epoch, cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            double lossSum = 0;
            int correct = 0;
            for (int i = 0; i < settings.MicroStepsPerEpoch; i++)
            {
                float loss = token.Sum(x => x * x) / n + 0.001f * i;
                bool ok = loss < 0.05f;
                if (ok) correct++;
                lossSum += loss;
                observer.OnMicroStep(new MicroStepReport(epoch, i, prompts[i % prompts.Count], settings.Seed, loss,
                                                         ok ? settings.ClassId : 0, ok ? 0.9f : 0.1f, 0.001));
            }
            double epochLoss = lossSum / settings.MicroStepsPerEpoch;
            bool isBest = epochLoss < best;
            if (isBest)
            {
                best = epochLoss;
                bestToken = token.ToArray();
                bestEpoch = epoch;
                without = 0;
            }
            else without++;
            steps++;
            for (int j = 0; j < n; j++)
            {
                float g = 2 * token[j] / n;
                m[j] = (float)(settings.Beta1 * m[j] + (1 - settings.Beta1) * g);
                v[j] = (float)(settings.Beta2 * v[j] + (1 - settings.Beta2) * g * g);
                token[j] -= (float)(settings.LearningRate * m[j] / (Math.Sqrt(v[j]) + settings.Epsilon));
            }
            accuracy = correct / (double)settings.MicroStepsPerEpoch;
            observer.OnEpoch(new EpochReport(epoch, epochLoss, accuracy, 1.0, 1.0, isBest, 0.01));
            await observer.OnCheckpointAsync(new TrainingCheckpoint
            {
                EpochsCompleted = epoch + 1, Token = token.ToArray(), ExpAvg = m.ToArray(), ExpAvgSq = v.ToArray(),
                OptimizerSteps = steps, BestLoss = best, BestToken = bestToken?.ToArray(), BestEpoch = bestEpoch,
                EpochsWithoutImprovement = without, LastAccuracy = accuracy, Seed = settings.Seed,
            }, cancellationToken);
            if (accuracy > settings.TargetAccuracy)
                return new TrainingOutcome(bestToken!, best, bestEpoch, epoch + 1, accuracy, StopReason.TargetAccuracy, prompts);
            if (without >= settings.PatienceEpochs)
                return new TrainingOutcome(bestToken!, best, bestEpoch, epoch + 1, accuracy, StopReason.Patience, prompts);
        }
        return new TrainingOutcome(bestToken!, best, bestEpoch, epoch, accuracy, StopReason.MaxEpochs, prompts);
    }
}

/// <summary>Generates one image per seed and prompt kind with the (fake) diffusion backend and scores it.</summary>
public sealed class ScriptedEvaluationEngine : IEvaluationEngine
{
    public async Task<EvaluationOutcome> RunAsync(IDiffusionBackend diffusion, IClassifierBackend classifier,
        EvaluationSettings settings, IEvaluationObserver observer, CancellationToken cancellationToken)
    {
        string tokenPrompt = settings.TokenPrompt.Replace("{token}", settings.Token.Placeholder).Replace("{class}", settings.ClassPromptName);
        string baselinePrompt = settings.BaselinePrompt.Replace("{class}", settings.ClassPromptName);
        var accuracy = new Dictionary<EvaluationPromptKind, double>();
        foreach (var kind in new[] { EvaluationPromptKind.Token, EvaluationPromptKind.Baseline })
        {
            int correct = 0;
            string prompt = kind == EvaluationPromptKind.Token ? tokenPrompt : baselinePrompt;
            foreach (ulong seed in settings.Seeds)
            {
                var image = await diffusion.GenerateAsync(
                    new SamplingSettings(prompt, seed, settings.Steps, settings.GuidanceScale, 8, 8, settings.Scheduler, settings.Padding),
                    kind == EvaluationPromptKind.Token ? settings.Token : null, cancellationToken);
                var p = (await classifier.ClassifyAsync(image, settings.ClassId, cancellationToken))[0];
                bool ok = p.PredictedClassId == settings.ClassId;
                if (ok) correct++;
                await observer.OnImageAsync(new EvaluationImageReport(kind, prompt, seed, p.PredictedClassId, p.TargetProbability, ok, image),
                                            cancellationToken);
            }
            accuracy[kind] = correct / (double)settings.Seeds.Count;
        }
        var info = await classifier.GetInfoAsync(cancellationToken);
        return new EvaluationOutcome(tokenPrompt, baselinePrompt, accuracy[EvaluationPromptKind.Token],
                                     accuracy[EvaluationPromptKind.Baseline], settings.Seeds.Count, settings.Seeds, info.ModelId);
    }
}

/// <summary>A job executor whose behaviour each test scripts; records the order in which jobs started.</summary>
public sealed class ScriptedExecutor : IJobExecutor
{
    public Func<JobRun, CancellationToken, Task<JobFinished>> Run { get; set; } =
        (_, _) => Task.FromResult(new JobFinished { Reason = "completed" });

    public ConcurrentQueue<string> Started { get; } = new();

    public Task<JobFinished> RunAsync(JobRun run, CancellationToken cancellationToken)
    {
        Started.Enqueue(run.JobId);
        return Run(run, cancellationToken);
    }
}
