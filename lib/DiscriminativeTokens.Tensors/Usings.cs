// The wire message and the TorchSharp tensor are both called Tensor; the aliases keep every file unambiguous.
global using DiscriminativeTokens.Contracts.Common.V1;
global using TorchSharp;
global using TorchTensor = TorchSharp.torch.Tensor;
global using WireTensor = DiscriminativeTokens.Contracts.Common.V1.Tensor;
