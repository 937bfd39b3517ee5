using DiscriminativeTokens.Orchestration.Backends;

namespace DiscriminativeTokens.Orchestration.Training;

/// <summary>
/// The micro-steps of one epoch on one gradient session: forward → classifier loss and dLoss/dImage → backward.
/// With overlap, the forward of micro-step i + 1 starts as soon as forward i has returned, while the classifier and
/// backward of i run (at most one prefetched forward, so a session holds at most two forwards). After a failed
/// attempt <see cref="ResetAsync"/> drops the session and any prefetched forward, and the redo starts from scratch.
/// </summary>
internal sealed class EpochPass(
    IDiffusionBackend diffusion,
    IClassifierBackend classifier,
    TrainingSettings settings,
    GradientSessionOptions sessionOptions,
    IReadOnlyList<string> prompts,
    IReadOnlyList<TensorData> latents,
    float[] token,
    int imageSize,
    CancellationToken epochCancellation) : IAsyncDisposable
{
    private IDiffusionGradientSession? _session;
    private Prefetch? _prefetch;
    private ulong _lastForwardId;

    private sealed record Prefetch(int Index, IDiffusionGradientSession Session, Task<ForwardResult> Forward,
                                   CancellationTokenSource Cancel);

    /// <summary>One attempt of micro-step <paramref name="index"/>.</summary>
    public async Task<MicroStepResult> RunAsync(int index, CancellationToken cancellationToken)
    {
        var session = _session ??= await diffusion.OpenGradientSessionAsync(sessionOptions, cancellationToken);

        ForwardResult forward;
        if (_prefetch is { } prefetched && prefetched.Index == index && prefetched.Session == session)
        {
            _prefetch = null;
            using (prefetched.Cancel)
                forward = await prefetched.Forward;
        }
        else
        {
            await DropPrefetchAsync(release: true);
            forward = await session.ForwardAsync(Request(index), cancellationToken);
        }

        if (settings.Overlap && index + 1 < prompts.Count)
            StartPrefetch(session, index + 1);

        var loss = await classifier.LossAndGradientAsync(forward.Image, settings.ClassId, cancellationToken);
        var gradient = await session.BackwardAsync(forward.ForwardId, loss.ImageGradient, cancellationToken);
        if (gradient.Gradient.Length != token.Length)
            throw new BackendException(diffusion.Name, BackendFailure.Internal,
                $"The token gradient has {gradient.Gradient.Length} values; the token has {token.Length}.");
        if (!float.IsFinite(loss.Loss) || !gradient.Gradient.All(float.IsFinite))
            throw new BackendException(diffusion.Name, BackendFailure.Internal,
                $"Micro-step {index} produced a non-finite loss ({loss.Loss}) or token gradient; lower the learning rate " +
                "or the guidance scale.");
        return new MicroStepResult(index, loss.Loss, loss.PredictedClassId, loss.TargetProbability, gradient.Gradient);
    }

    /// <summary>Before a redo: the session may be broken, so it and any prefetched forward are dropped; the next
    /// attempt opens a new session.</summary>
    public async ValueTask ResetAsync()
    {
        await DropPrefetchAsync(release: false);
        var session = _session;
        _session = null;
        if (session is not null)
            await DisposeQuietlyAsync(session);
    }

    public async ValueTask DisposeAsync() => await ResetAsync();

    private ForwardRequest Request(int index)
    {
        var sampling = new SamplingSettings(prompts[index], settings.Seed, settings.Steps, settings.GuidanceScale,
                                            imageSize, imageSize, settings.Scheduler, settings.Padding);
        return new ForwardRequest(++_lastForwardId, sampling, token, latents[index]);
    }

    private void StartPrefetch(IDiffusionGradientSession session, int index)
    {
        var cancel = CancellationTokenSource.CreateLinkedTokenSource(epochCancellation);
        var request = Request(index);
        // Task.Run: the caller goes on to the classifier at once even if the backend starts its work synchronously.
        var task = Task.Run(() => session.ForwardAsync(request, cancel.Token), CancellationToken.None);
        _prefetch = new Prefetch(index, session, task, cancel);
    }

    /// <summary>Cancels a prefetched forward and waits for it to end (its failure no longer matters). With
    /// <paramref name="release"/> a forward that did finish is released on its still-used session.</summary>
    private async Task DropPrefetchAsync(bool release)
    {
        if (_prefetch is not { } prefetch) return;
        _prefetch = null;
        using (prefetch.Cancel)
        {
            prefetch.Cancel.Cancel();
            try
            {
                var result = await prefetch.Forward;
                if (release)
                    await prefetch.Session.ReleaseAsync(result.ForwardId, epochCancellation);
            }
            catch (Exception)
            {
                // The prefetch was abandoned; its outcome is irrelevant to the redo.
            }
        }
    }

    private static async Task DisposeQuietlyAsync(IDiffusionGradientSession session)
    {
        try
        {
            await session.DisposeAsync();
        }
        catch (Exception)
        {
            // A broken session may fail to close; the service frees it on its own (idle timeout or stream end).
        }
    }
}
