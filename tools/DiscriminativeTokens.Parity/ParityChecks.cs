using DiscriminativeTokens.Parity.Checks;

namespace DiscriminativeTokens.Parity;

/// <summary>Every check the command knows, in the order it runs them. Add a component by adding its check here.</summary>
public static class ParityChecks
{
    public static IReadOnlyList<ParityCheck> All { get; } =
    [
        new TokenizerCheck(),
        new TextEncoderCheck(),
        new UnetCheck(),
        new VaeCheck(),
        new SchedulerCheck(),
        new PipelineCheck(),
        new VitCheck(),
        new DctClassifierCheck(),
        new DctGradientCheck(),
    ];
}
