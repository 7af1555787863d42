"""The few etcd calls the provider tests make against a started cluster (gRPC, bounded
by a 5 s deadline, never through an HTTP proxy from the environment)."""
from __future__ import annotations

import os
import time

import grpc
from pyetcd.etcdrpc import rpc_pb2 as pb
from pyetcd.etcdrpc import rpc_pb2_grpc as pbg

NO_PROXY = [("grpc.enable_http_proxy", 0)]


def new_run_id(tag: str) -> str:
    return f"t-{tag}-{os.getpid()}-{time.time_ns()}"


def put(endpoint: str, key: str, value: bytes) -> int:
    with grpc.insecure_channel(endpoint, options=NO_PROXY) as ch:
        return pbg.KVStub(ch).Put(pb.PutRequest(key=key.encode(), value=value), timeout=5).header.revision


def get(endpoint: str, key: str, serializable: bool = False) -> bytes | None:
    with grpc.insecure_channel(endpoint, options=NO_PROXY) as ch:
        r = pbg.KVStub(ch).Range(pb.RangeRequest(key=key.encode(), serializable=serializable), timeout=5)
        return r.kvs[0].value if r.kvs else None
