using DiscriminativeTokens.Testing;
using DiscriminativeTokens.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscriminativeTokens.Tests.Torch;

public class SafetensorsTests
{
    [Fact]
    public void ReadsUpstreamFileWithMetadata()
    {
        using var file = new SafetensorsFile(RepositoryPaths.SdTinyReference("schedulers.safetensors"));
        using var alphas = file.Read("alphas_cumprod");
        Assert.Equal(new long[] { 1000 }, alphas.shape);
        // scaled_linear betas start at 0.00085, so the first cumulative alpha is 1 - 0.00085.
        Assert.Equal(0.99915f, alphas[0].item<float>(), 6);
        using var timesteps = file.Read("pndm/n10/timesteps");
        Assert.Equal(ScalarType.Int64, timesteps.dtype);
        Assert.True(file.Metadata.ContainsKey("configs"));
    }

    [Fact]
    public void WriterRoundTripsEveryDtypeAndMetadata()
    {
        string path = Path.Combine(Path.GetTempPath(), $"st-{Guid.NewGuid():N}.safetensors");
        try
        {
            var tensors = new List<KeyValuePair<string, Tensor>>
            {
                new("f32", arange(12, dtype: float32).reshape(3, 4)),
                new("f16", tensor(new float[] { 0.5f, -2f }).to(float16)),
                new("i64", tensor(new long[] { 1, -7, long.MaxValue })),
                new("u8", tensor(new byte[] { 0, 255 })),
                new("empty", zeros(0, 3)),
            };
            SafetensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["note"] = "hello" });
            using var file = new SafetensorsFile(path);
            Assert.Equal("hello", file.Metadata["note"]);
            foreach (var (name, expected) in tensors)
            {
                using var actual = file.Read(name);
                Assert.Equal(expected.dtype, actual.dtype);
                Assert.Equal(expected.shape, actual.shape);
                Assert.True(expected.equal(actual).all().item<bool>(), name);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void CopyIntoConvertsHalfToFloatAndRejectsBroadcastableShapes()
    {
        string path = Path.Combine(Path.GetTempPath(), $"st-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafetensorsWriter.Write(path, [new("w", tensor(new float[] { 1.5f, -0.25f }).to(float16)), new("b", ones(1))]);
            using var file = new SafetensorsFile(path);
            using var w = zeros(2);
            file.CopyInto("w", w);
            Assert.Equal(new[] { 1.5f, -0.25f }, w.data<float>().ToArray());
            using var big = zeros(8, 4);
            var error = Assert.Throws<InvalidDataException>(() => file.CopyInto("b", big));
            Assert.Contains("'b'", error.Message);
            Assert.Contains("[8, 4]", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void StateDictLoaderNamesMissingAndUnexpectedKeys()
    {
        string path = Path.Combine(Path.GetTempPath(), $"st-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafetensorsWriter.Write(path, [new("weight", ones(3, 2)), new("extra", ones(1))]);
            using var linear = nn.Linear(2, 3);
            var error = Assert.Throws<InvalidDataException>(() => StateDictLoader.Load(linear, [path]));
            Assert.Contains("missing key(s) 'bias'", error.Message);
            Assert.Contains("unexpected key(s) 'extra'", error.Message);

            SafetensorsWriter.Write(path, [new("weight", full(3, 2, 0.5f)), new("bias", full(3, -1f))]);
            StateDictLoader.Load(linear, [path]);
            Assert.Equal(0.5f, linear.weight!.mean().item<float>());
            Assert.Equal(-1f, linear.bias!.mean().item<float>());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("diffusion_pytorch_model.bin")]
    [InlineData("model.ckpt")]
    [InlineData("weights.pt")]
    public void PickleFilesAreRefusedWithConversionAdvice(string name)
    {
        var error = Assert.Throws<InvalidDataException>(() => new SafetensorsFile(Path.Combine(Path.GetTempPath(), name)));
        Assert.Contains("pickle", error.Message);
        Assert.Contains("safetensors", error.Message);
    }

    [Fact]
    public void TruncatedHeaderIsRejected()
    {
        string path = Path.Combine(Path.GetTempPath(), $"st-{Guid.NewGuid():N}.safetensors");
        try
        {
            File.WriteAllBytes(path, [.. BitConverter.GetBytes(1000L), (byte)'{']);
            var error = Assert.Throws<InvalidDataException>(() => new SafetensorsFile(path));
            Assert.Contains("header length 1000", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
