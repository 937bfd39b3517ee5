using DiscriminativeTokens.Torch;

namespace DiscriminativeTokens.Tests.Torch;

public sealed class NnpackTests
{
    [Fact]
    public void NNPACK_is_switched_off_exactly_where_it_cannot_run()
    {
        // The test process switches it at start (tests/Shared/ConsistentKernels), as model loading does in services.
        bool avoided = Nnpack.AvoidWhereUnsupported();
        Assert.Equal(!Nnpack.IsAvailable, avoided);
        Assert.Equal(Nnpack.IsAvailable, Nnpack.IsEnabled);
        Assert.Equal(avoided, Nnpack.AvoidWhereUnsupported());   // decided once
    }
}
