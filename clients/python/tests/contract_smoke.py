"""Checks that the generated Python stubs work with Debian's grpcio/protobuf and reach a running .NET service.

Usage: /usr/bin/python3 tests/contract_smoke.py http://127.0.0.1:PORT
Exits non-zero with a message on the first failure.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import dct_client  # noqa: E402,F401  (puts the generated stubs on sys.path)

import grpc  # noqa: E402
import numpy as np  # noqa: E402
from dct.classifier.v1 import classifier_pb2, classifier_pb2_grpc  # noqa: E402,F401
from dct.common.v1 import tensor_pb2  # noqa: E402
from dct.diffusion.v1 import diffusion_pb2, diffusion_pb2_grpc  # noqa: E402,F401
from dct.orchestrator.v1 import orchestrator_pb2, orchestrator_pb2_grpc  # noqa: E402,F401


def check_tensor_bytes():
    # The wire format is raw little-endian C-order bytes: numpy views them without conversion.
    image = np.arange(2 * 3 * 4 * 5, dtype="<f4").reshape(2, 3, 4, 5)
    message = tensor_pb2.Tensor(dtype=tensor_pb2.DTYPE_FLOAT32, shape=list(image.shape), data=image.tobytes())
    decoded = tensor_pb2.Tensor.FromString(message.SerializeToString())
    view = np.frombuffer(decoded.data, dtype="<f4").reshape(tuple(decoded.shape))
    assert np.array_equal(view, image), "tensor bytes did not round-trip"
    chunk = tensor_pb2.TensorChunk(header=tensor_pb2.TensorHeader(dtype=decoded.dtype, shape=decoded.shape),
                                   index=0, offset=0, data=decoded.data, last=True)
    request = classifier_pb2.LossAndGradientRequest(target_class_ids=[3, 1], images=chunk)
    assert classifier_pb2.LossAndGradientRequest.FromString(request.SerializeToString()).images.last
    event = orchestrator_pb2.JobEvent(job_id="j", sequence=7, failed=orchestrator_pb2.JobFailed())
    event.failed.status.code = 3
    event.failed.status.message = "bad class"
    assert orchestrator_pb2.JobEvent.FromString(event.SerializeToString()).failed.status.message == "bad class"


def check_health(address):
    # grpc.health.v1.Health/Check with an empty request; the response's field 1 is the serving status (1 = SERVING).
    target = address.replace("http://", "")
    with grpc.insecure_channel(target) as channel:
        check = channel.unary_unary("/grpc.health.v1.Health/Check",
                                    request_serializer=lambda _: b"", response_deserializer=lambda b: b)
        response = check(None, timeout=10)
        assert response == b"\x08\x01", f"health answered {response!r}, expected SERVING"


if __name__ == "__main__":
    check_tensor_bytes()
    if len(sys.argv) > 1:
        check_health(sys.argv[1])
    print("python contract smoke: ok")
