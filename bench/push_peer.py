"""The local push service (tests/helpers/push_service.py) in a process of its own, for the push
benchmark: its work must not share the dispatcher's CPU time slices or event loop.

    python -m bench.push_peer SUBSCRIPTIONS COUNT

mints COUNT subscriptions, writes them to the file SUBSCRIPTIONS (JSON lines, as a browser's
PushSubscription.toJSON()), prints ``READY <base url>``, then answers each line on standard
input: ``stats`` prints one JSON line of counts; end of input stops it.

Every body is decrypted, as a phone would, by a third process (``--decrypt``, at the lowest
CPU priority): on a phone, decrypting is the phone's work, not the sender's machine's, and
here two cores carry the dispatcher, the push service and PostgreSQL already. The decryptor
takes CPU time when they leave some, and catches up before ``stats`` answers, which counts
only the bodies that decrypted (RFC 8291, aes128gcm) to the payload they were sent with.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import struct
import sys
from collections import Counter
from pathlib import Path
from typing import BinaryIO

import http_ece
from cryptography.hazmat.primitives.asymmetric import ec

from tests.helpers.push_service import PushService

# Records to the decryptor: a kind byte, then length-prefixed fields.
_KEY, _BODY, _SYNC = b"K", b"B", b"S"
_POLL = 0.01  # seconds between looks at what the push service accepted


def _record(kind: bytes, *fields: bytes) -> bytes:
    return kind + b"".join(struct.pack("!I", len(f)) + f for f in fields)


async def main(path: Path, count: int) -> None:
    # Bodies are kept as they came and decrypted by the decryptor; the VAPID signature (one
    # token, reused by the sender for an hour) is checked by the tests, not 10,000 times here.
    decryptor = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.push_peer",
        "--decrypt",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert decryptor.stdin is not None and decryptor.stdout is not None
    async with PushService(verify_vapid=False, decrypt=False) as service:
        with path.open("w") as handle:
            for _ in range(count):
                sub = service.subscribe()
                handle.write(json.dumps(sub.as_json()) + "\n")
                scalar = sub.private_key.private_numbers().private_value.to_bytes(32, "big")
                decryptor.stdin.write(_record(_KEY, sub.token.encode(), scalar, sub.auth_secret))
        await decryptor.stdin.drain()
        forwarded = 0

        async def forward() -> None:
            nonlocal forwarded
            assert decryptor.stdin is not None
            while True:
                new = service.deliveries[forwarded:]
                forwarded += len(new)
                for d in new:
                    decryptor.stdin.write(_record(_BODY, d.subscription.token.encode(), d.payload))
                await asyncio.sleep(_POLL)

        forwarding = asyncio.create_task(forward())
        print(f"READY {service.base_url}", flush=True)
        loop = asyncio.get_running_loop()
        try:
            while True:
                line = await loop.run_in_executor(None, sys.stdin.readline)
                if not line:
                    return
                if line.strip() == "stats":
                    await asyncio.sleep(2 * _POLL)  # every accepted body forwarded
                    if decryptor.pid is not None:  # catching up now holds nothing else up
                        with contextlib.suppress(PermissionError):
                            os.setpriority(os.PRIO_PROCESS, decryptor.pid, 0)
                    decryptor.stdin.write(_SYNC)
                    await decryptor.stdin.drain()
                    decrypted = json.loads(await decryptor.stdout.readline())
                    failed = [r for r in service.requests if r.status != 201]
                    stats = {
                        "delivered": decrypted["decrypted"],
                        "accepted": len(service.deliveries),
                        "requests": len(service.requests),
                        "refused": len(failed),
                        "reasons": sorted({r.reason for r in failed})[:5],
                        "undecryptable": decrypted["failed"],
                        "payloads": decrypted["payloads"],
                    }
                    print(json.dumps(stats), flush=True)
        finally:
            forwarding.cancel()
            decryptor.stdin.close()
            await decryptor.wait()


def _read(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise EOFError
    return data


def _fields(stream: BinaryIO, n: int) -> list[bytes]:
    return [_read(stream, struct.unpack("!I", _read(stream, 4))[0]) for _ in range(n)]


def decrypt_forever(stream: BinaryIO) -> None:
    """The decryptor: keys, then bodies, decrypted as they come; a sync record is answered
    with the counts so far."""
    os.nice(19)  # only the CPU time the dispatcher, the push service and PostgreSQL leave
    keys: dict[bytes, tuple[ec.EllipticCurvePrivateKey, bytes]] = {}
    decrypted, failed = 0, 0
    payloads: Counter[str] = Counter()
    while True:
        try:
            kind = _read(stream, 1)
        except EOFError:
            return
        if kind == _KEY:
            token, scalar, auth = _fields(stream, 3)
            key = ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())
            keys[token] = (key, auth)
        elif kind == _BODY:
            token, body = _fields(stream, 2)
            key, auth = keys[token]
            try:
                payload = http_ece.decrypt(
                    body, private_key=key, auth_secret=auth, version="aes128gcm"
                )
            except Exception:
                failed += 1
                continue
            decrypted += 1
            if len(payloads) < 3 or payload.decode() in payloads:
                payloads[payload.decode()] += 1
        elif kind == _SYNC:
            report = {"decrypted": decrypted, "failed": failed, "payloads": sorted(payloads)}
            print(json.dumps(report), flush=True)
        else:
            raise ValueError(f"unknown record {kind!r}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--decrypt"]:
        decrypt_forever(sys.stdin.buffer)
    else:
        asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2])))
