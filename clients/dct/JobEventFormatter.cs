using System.Globalization;
using DiscriminativeTokens.Contracts.Orchestrator.V1;

namespace DiscriminativeTokens.Cli;

/// <summary>One readable line per job event, as `dct train` and `dct watch` print them.</summary>
public static class JobEventFormatter
{
    public static string Format(JobEvent e)
    {
        string text = e.EventCase switch
        {
            JobEvent.EventOneofCase.Queued => $"queued ({e.Queued.Position} job(s) ahead)",
            JobEvent.EventOneofCase.Started =>
                $"started: class {e.Started.ClassId} \"{e.Started.ClassLabel}\", diffusion {e.Started.DiffusionAddress}, classifier {e.Started.ClassifierAddress}",
            JobEvent.EventOneofCase.MicroStep => MicroStep(e.MicroStep),
            JobEvent.EventOneofCase.Epoch => Epoch(e.Epoch),
            JobEvent.EventOneofCase.Checkpoint => $"checkpoint with {e.Checkpoint.Epoch} epoch(s) done: {e.Checkpoint.Path}",
            JobEvent.EventOneofCase.Resumed => $"resumed at epoch {e.Resumed.Epoch} after an orchestrator restart",
            JobEvent.EventOneofCase.EvaluationImage => EvaluationImage(e.EvaluationImage),
            JobEvent.EventOneofCase.Finished when e.Finished.Reason == "completed" => "finished",
            JobEvent.EventOneofCase.Finished =>
                $"finished ({e.Finished.Reason}) after {e.Finished.Epochs} epoch(s): best loss {F(e.Finished.BestLoss)}, accuracy {P(e.Finished.FinalAccuracy)}",
            JobEvent.EventOneofCase.Failed => $"FAILED: {(Grpc.Core.StatusCode)e.Failed.Status.Code}: {e.Failed.Status.Message}",
            JobEvent.EventOneofCase.Cancelled => "cancelled",
            JobEvent.EventOneofCase.Retry =>
                $"{e.Retry.Service} failed ({e.Retry.Reason}); redoing the micro-step, attempt {e.Retry.Attempt} in {e.Retry.DelaySeconds:F1} s",
            _ => $"event {e.EventCase}",
        };
        return $"[{e.Sequence,4}] {text}";
    }

    public static bool IsTerminal(JobEvent e) => e.EventCase is JobEvent.EventOneofCase.Finished
        or JobEvent.EventOneofCase.Failed or JobEvent.EventOneofCase.Cancelled;

    private static string MicroStep(MicroStep m) =>
        $"epoch {m.Epoch} image {m.Index + 1}: loss {F(m.Loss)}, p(target) {m.TargetProbability:F3}, " +
        $"predicted {m.PredictedClassId} \"{m.PredictedLabel}\", {m.Seconds:F1} s — {m.Prompt}";

    private static string Epoch(EpochSummary s) =>
        $"epoch {s.Epoch} done: loss {F(s.Loss)}, accuracy {P(s.Accuracy)}, grad norm {F(s.GradNorm)} → {F(s.ClippedGradNorm)}" +
        $"{(s.Best ? " (best so far, kept)" : "")}, {s.Seconds:F1} s";

    private static string EvaluationImage(EvaluationImage i) =>
        $"{i.PromptKind} seed {i.Seed}: {(i.Correct ? "correct" : "wrong")}, predicted {i.PredictedClassId}, " +
        $"p(target) {i.TargetProbability:F3} — {i.Path}";

    // Six digits: on small models a useful loss change can sit in the fifth.
    private static string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
    private static string P(double v) => v.ToString("P0", CultureInfo.InvariantCulture);
}
