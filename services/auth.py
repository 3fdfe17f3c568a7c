"""Bearer-token check for mutating RPCs; reads (Describe, GetState, health, reflection) stay open."""
from __future__ import annotations

import hmac
import secrets

import grpc


def new_token() -> str:
    return secrets.token_urlsafe(24)


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


class TokenInterceptor(grpc.ServerInterceptor):
    def __init__(self, token: str, mutating: frozenset[str]):
        self._expected = f"Bearer {token}".encode()
        self._mutating = mutating

        def deny(request, context):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "this RPC changes the twin: send metadata 'authorization: Bearer <token>'")

        self._deny = grpc.unary_unary_rpc_method_handler(deny)

    def intercept_service(self, continuation, handler_call_details):
        if handler_call_details.method in self._mutating:
            metadata = dict(handler_call_details.invocation_metadata or ())
            if not hmac.compare_digest(metadata.get("authorization", "").encode(), self._expected):
                return self._deny
        return continuation(handler_call_details)
