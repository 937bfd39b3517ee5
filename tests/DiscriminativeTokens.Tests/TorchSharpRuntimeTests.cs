using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Tests;

/// <summary>Proves the native TorchSharp runtime loads from the build output (GLIBCXX patch included).</summary>
public class TorchSharpRuntimeTests
{
    [Fact]
    public void ForwardAndBackwardRun()
    {
        // y = sum(w·x + b)^2 over a tiny linear layer; gradients checked against the closed form.
        using var scope = NewDisposeScope();
        var x = tensor(new float[] { 1f, 2f, 3f }).reshape(1, 3);
        var w = tensor(new float[] { 0.5f, -1f, 2f }).reshape(3, 1).requires_grad_();
        var b = tensor(new float[] { 0.25f }).requires_grad_();
        var y = x.matmul(w) + b;              // 0.5 - 2 + 6 + 0.25 = 4.75
        var loss = y.pow(2).sum();            // 22.5625
        loss.backward();

        Assert.Equal(22.5625f, loss.item<float>(), 5);
        // dloss/dw = 2y·x, dloss/db = 2y
        var expectedW = new float[] { 9.5f, 19f, 28.5f };
        Assert.Equal(expectedW, w.grad!.reshape(3).data<float>().ToArray());
        Assert.Equal(9.5f, b.grad!.item<float>(), 5);
    }
}
