"""Bearer tokens: mutating RPCs need ``authorization: Bearer <token>``; reads (Describe, GetState,
health, reflection) stay open."""
from __future__ import annotations

import hmac
import secrets

import grpc


def new_token() -> str:
    return secrets.token_urlsafe(24)


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


class TokenInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, token: str, mutating: frozenset[str]):
        self._expected = f"Bearer {token}".encode()
        self._mutating = mutating

        async def deny(request, context):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "this RPC changes the twin: send metadata 'authorization: Bearer <token>'")

        self._deny = grpc.unary_unary_rpc_method_handler(deny)

    async def intercept_service(self, continuation, details):
        if details.method in self._mutating:
            metadata = dict(details.invocation_metadata or ())
            if not hmac.compare_digest(str(metadata.get("authorization", "")).encode(), self._expected):
                return self._deny
        return await continuation(details)
