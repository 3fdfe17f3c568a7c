"""The gRPC server every twin endpoint runs: grpc.aio on an event-loop thread of its own.

Streams (server reflection, health Watch) are coroutines, not threads, so no number of idle or
slow clients can take the capacity the conductor's calls need; the model's work runs in a small
thread pool beside the loop. Every server answers the standard health service (Check, Watch and
List) and server reflection in both protocols, ``grpc.reflection.v1`` and ``v1alpha``, so
grpcurl, ``buf curl --reflect-protocol grpc-v1`` and older clients all work with no .proto.
"""
from __future__ import annotations

import asyncio
import threading
from typing import Callable, Iterable

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer as _AioHealth
from grpc_reflection.v1alpha import reflection, reflection_pb2
from grpc_status import rpc_status

from services.auth import TokenInterceptor

REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"
HEALTH = "grpc.health.v1.Health"


# -- errors with google.rpc details ------------------------------------------------------------
def invalid_argument(message: str) -> status_pb2.Status:
    """INVALID_ARGUMENT with a BadRequest field violation: "field: reason" names the field."""
    field, sep, reason = message.partition(": ")
    if not sep or " " in field:
        field, reason = "", message
    detail = error_details_pb2.BadRequest(field_violations=[error_details_pb2.BadRequest.FieldViolation(field=field, description=reason)])
    status = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=message)
    status.details.add().Pack(detail)
    return status


def precondition_failed(message: str, subject: str = "") -> status_pb2.Status:
    detail = error_details_pb2.PreconditionFailure(violations=[error_details_pb2.PreconditionFailure.Violation(type="STATE", subject=subject, description=message)])
    status = status_pb2.Status(code=code_pb2.FAILED_PRECONDITION, message=message)
    status.details.add().Pack(detail)
    return status


def not_found(message: str, resource_type: str, name: str) -> status_pb2.Status:
    """NOT_FOUND with a ResourceInfo naming what was looked for."""
    detail = error_details_pb2.ResourceInfo(resource_type=resource_type, resource_name=name, description=message)
    status = status_pb2.Status(code=code_pb2.NOT_FOUND, message=message)
    status.details.add().Pack(detail)
    return status


def plain(code: int, message: str) -> status_pb2.Status:
    """A status with no details (UNAVAILABLE, RESOURCE_EXHAUSTED: the message says it all)."""
    return status_pb2.Status(code=code, message=message)


async def abort(context, status: status_pb2.Status) -> None:
    await context.abort_with_status(rpc_status.to_status(status))


# -- health with List --------------------------------------------------------------------------
class HealthServicer(_AioHealth):
    async def List(self, request, context):
        return health_pb2.HealthListResponse(statuses={name: health_pb2.HealthCheckResponse(status=status) for name, status in self._server_status.items()})


# -- reflection v1 -----------------------------------------------------------------------------
def _register_reflection_v1() -> None:
    """Add grpc.reflection.v1 to the descriptor pool: the v1alpha file under the v1 package
    (the two protocols are the same messages on the wire, only the names differ)."""
    pool = descriptor_pool.Default()
    try:
        pool.FindServiceByName(REFLECTION_V1)
        return
    except KeyError:
        pass
    proto = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(proto)
    proto.name, proto.package = "grpc/reflection/v1/reflection.proto", "grpc.reflection.v1"
    proto.ClearField("options")
    old, new = ".grpc.reflection.v1alpha.", ".grpc.reflection.v1."
    for message in proto.message_type:
        for field in message.field:
            if field.HasField("type_name"):
                field.type_name = field.type_name.replace(old, new)
    for service in proto.service:
        for method in service.method:
            method.input_type = method.input_type.replace(old, new)
            method.output_type = method.output_type.replace(old, new)
    pool.Add(proto)


def _add_reflection(server: grpc.aio.Server, names: tuple[str, ...]) -> None:
    _register_reflection_v1()
    servicer = reflection.aio.ReflectionServicer(names)
    reflection.enable_server_reflection(names, server)
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(REFLECTION_V1, {"ServerReflectionInfo": handler}),))


# -- the server --------------------------------------------------------------------------------
class Server:
    """A running aio server; ``stop()`` from any thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, server: grpc.aio.Server, thread: threading.Thread):
        self._loop, self._server, self._thread = loop, server, thread

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def stop(self, grace: float | None = None) -> None:
        if self._loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self._server.stop(grace), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


def start(add_services: Callable[[grpc.aio.Server], Iterable[str]], token: str, mutating: frozenset[str],
          bind: str = "127.0.0.1", port: int = 0, options=(), read_token: str | None = None, protect_reads: bool = False,
          tls: tuple[bytes, bytes] | None = None) -> tuple[Server, int]:
    """Start a server with the services ``add_services`` registers (it returns their names),
    health and reflection; returns it and the port it got (0 asks the OS for a free one).
    ``tls``: (certificate chain, private key) in PEM to serve TLS instead of plaintext."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="grpc-server-loop", daemon=True)
    thread.start()

    async def begin():
        server = grpc.aio.server(interceptors=[TokenInterceptor(token, mutating, read_token, protect_reads)], options=list(options))
        names = tuple(add_services(server))
        health = HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health, server)
        _add_reflection(server, (*names, HEALTH, reflection.SERVICE_NAME, REFLECTION_V1))
        address = f"[{bind}]:{port}" if ":" in bind else f"{bind}:{port}"
        if tls is None:
            bound = server.add_insecure_port(address)
        else:
            bound = server.add_secure_port(address, grpc.ssl_server_credentials([(tls[1], tls[0])]))
        if bound == 0:
            raise OSError(f"could not bind {bind}:{port}")
        await server.start()
        for name in ("", *names):
            await health.set(name, health_pb2.HealthCheckResponse.SERVING)
        return server, bound

    try:
        server, bound = asyncio.run_coroutine_threadsafe(begin(), loop).result()
    except BaseException:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
        raise
    return Server(loop, server, thread), bound
