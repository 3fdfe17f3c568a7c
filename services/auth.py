"""Bearer tokens: mutating RPCs need ``authorization: Bearer <token>``; reads (Describe, GetState,
health, reflection) stay open, but a request without the token may be at most
:data:`ANONYMOUS_LIMIT` bytes (reads are small; only the conductor's windows are large)."""
from __future__ import annotations

import hmac
import inspect
import secrets

import grpc

ANONYMOUS_LIMIT = 64 * 1024


def new_token() -> str:
    return secrets.token_urlsafe(24)


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def _denial(code: grpc.StatusCode, message: str) -> grpc.RpcMethodHandler:
    async def deny(request, context):
        await context.abort(code, message)

    return grpc.unary_unary_rpc_method_handler(deny)


class TokenInterceptor(grpc.aio.ServerInterceptor):
    """``token`` may do anything; ``read_token`` (optional) only what is not ``mutating``
    (PERMISSION_DENIED otherwise); with ``protect_reads`` a call without either is refused,
    health and reflection excepted (so tools can still find the services)."""

    OPEN = ("/grpc.health.v1.Health/", "/grpc.reflection.")

    def __init__(self, token: str, mutating: frozenset[str], read_token: str | None = None, protect_reads: bool = False):
        self._expected = f"Bearer {token}".encode()
        self._read = None if not read_token else f"Bearer {read_token}".encode()
        self._mutating = mutating
        self._protect_reads = protect_reads
        self._deny = _denial(grpc.StatusCode.UNAUTHENTICATED, "this RPC changes the twin: send metadata 'authorization: Bearer <token>' (the serve's ILRS_TWIN_TOKEN)")
        self._deny_read = _denial(grpc.StatusCode.UNAUTHENTICATED, "this server protects reads: send metadata 'authorization: Bearer <token>' (a read or full token)")
        self._read_only = _denial(grpc.StatusCode.PERMISSION_DENIED, "this token may only read; this RPC changes the twin and needs the full token")

    async def intercept_service(self, continuation, details):
        metadata = dict(details.invocation_metadata or ())
        sent = str(metadata.get("authorization", "")).encode()
        if hmac.compare_digest(sent, self._expected):
            handler = await continuation(details)
            return None if handler is None else _checked(handler, details.method, None)
        if self._read is not None and hmac.compare_digest(sent, self._read):
            if details.method in self._mutating:
                return self._read_only
        elif details.method in self._mutating:
            return self._deny
        elif self._protect_reads and not details.method.startswith(self.OPEN):
            return self._deny_read
        handler = await continuation(details)
        return None if handler is None else _checked(handler, details.method, ANONYMOUS_LIMIT)


async def _refuse(context, method: str, size: int) -> None:
    await context.abort(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        f"request: {size} bytes to {method} without a token; the limit is {ANONYMOUS_LIMIT} bytes (send 'authorization: Bearer <token>' for larger requests)",
    )


async def _undecodable(context, method: str, error: Exception) -> None:
    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"request: not a valid request message for {method} ({error})")


def _checked(handler: grpc.RpcMethodHandler, method: str, limit: int | None) -> grpc.RpcMethodHandler:
    """The same handler, refusing a request message over ``limit`` bytes before it is parsed, and
    one that does not parse with INVALID_ARGUMENT (grpc would answer UNKNOWN or INTERNAL)."""
    deserialize = handler.request_deserializer or (lambda raw: raw)

    async def parse_in(raw, context):
        try:
            return deserialize(raw)
        except Exception as exc:  # protobuf's DecodeError, or a deserializer's own failure
            await _undecodable(context, method, exc)
    if handler.request_streaming:
        original = handler.stream_stream or handler.stream_unary

        async def checked(raw_iterator, context):
            async for raw in raw_iterator:
                if limit is not None and len(raw) > limit:
                    await _refuse(context, method, len(raw))
                yield await parse_in(raw, context)

        async def request(raw_iterator, context):
            return checked(raw_iterator, context)
    else:
        original = handler.unary_unary or handler.unary_stream

        async def request(raw, context):
            if limit is not None and len(raw) > limit:
                await _refuse(context, method, len(raw))
            return await parse_in(raw, context)

    # grpc.aio tells streaming behaviours from the function's kind: keep the original's.
    if inspect.isasyncgenfunction(original):
        async def call(raw, context):
            async for response in original(await request(raw, context), context):
                yield response
    else:
        async def call(raw, context):
            return await original(await request(raw, context), context)

    make = {
        (False, False): grpc.unary_unary_rpc_method_handler,
        (False, True): grpc.unary_stream_rpc_method_handler,
        (True, False): grpc.stream_unary_rpc_method_handler,
        (True, True): grpc.stream_stream_rpc_method_handler,
    }[(handler.request_streaming, handler.response_streaming)]
    return make(call, request_deserializer=None, response_serializer=handler.response_serializer)
