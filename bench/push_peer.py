"""The local push service (tests/helpers/push_service.py) in a process of its own, for the push
benchmark: its decryption must not share the dispatcher's CPU time slices or event loop.

    python -m bench.push_peer SUBSCRIPTIONS COUNT

mints COUNT subscriptions, writes them to the file SUBSCRIPTIONS (JSON lines, as a browser's
PushSubscription.toJSON()), prints ``READY <base url>``, then answers each line on standard
input: ``stats`` prints one JSON line of counts; end of input stops it.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from tests.helpers.push_service import PushService


async def main(path: Path, count: int) -> None:
    # Every body is decrypted, as a phone would; the VAPID signature (one token, reused by the
    # sender for an hour) is checked by the tests, not re-verified 10,000 times here.
    async with PushService(verify_vapid=False, decrypt=True) as service:
        with path.open("w") as handle:
            for _ in range(count):
                handle.write(json.dumps(service.subscribe().as_json()) + "\n")
        print(f"READY {service.base_url}", flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            if line.strip() == "stats":
                failed = [r for r in service.requests if r.status != 201]
                stats = {
                    "delivered": len(service.deliveries),
                    "requests": len(service.requests),
                    "refused": len(failed),
                    "reasons": sorted({r.reason for r in failed})[:5],
                    "payloads": sorted({d.payload.decode() for d in service.deliveries})[:3],
                }
                print(json.dumps(stats), flush=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2])))
