"""Benchmark: verifying an audit export against the speed of plain chained SHA-256.

Generates ``--events`` events (default 1,000,000; canonical form ~200 bytes each) with a
signed checkpoint every ``--checkpoint-every`` events, writes them as a real export file
through ``dueprocess.audit.chain.export_lines``, then times on one core:

(a) ``verify_export`` over the file, as ``python -m dueprocess.audit.verify`` runs it
    (read, parse, re-serialise canonically, hash, chain, check signatures);
(b) the ceiling: hashlib SHA-256 over the same file's lines, each chained to the previous
    digest, with no parsing at all;
(c) for information, ``verify_export`` with the stdlib json module instead of orjson.

Prints events/s for each, (a) as a share of (b), and PASS/FAIL against the target of
300,000 events/s for (a). Each timing is the best of ``--repeat`` runs (shared machines are
noisy). Exit status 1 on FAIL.

``--against OLD/verify.py`` also times another copy of the verifier (an earlier commit's)
on the same events, alternating with this one run by run, in CPU time as well as wall time:
on a machine other work is loading, that comparison holds where wall times do not. Both
read the export without its checkpoint lines (a verifier of before v2 cannot read them;
there are 100 in a million lines).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dueprocess.audit import chain
from dueprocess.audit.verify import verify_export

TARGET = 300_000
ACTIONS = ("demand.viewed", "demand.submitted", "review.note_added", "auth.sign_in_failed")


def events(count: int) -> Iterator[dict[str, Any]]:
    """A deterministic stream of realistic events (the same on every call)."""
    prev = chain.GENESIS
    base = 1_593_990_000  # 2020-07-05T23:00:00Z
    for seq in range(1, count + 1):
        stamp = time.gmtime(base + seq // 20)
        event = chain.make_event(
            seq=seq,
            at=time.strftime("%Y-%m-%dT%H:%M:%S", stamp) + f".{seq * 7919 % 1_000_000:06d}Z",
            actor=f"account:{seq % 397}",
            action=ACTIONS[seq % len(ACTIONS)],
            subject=f"demand:{seq // 9}" if seq % 4 else None,
            data={"via": "portal", "n": seq % 1000} if seq % 3 else {"ip": "203.0.113.77"},
            prev=prev,
        )
        prev = event["hash"]
        yield event


def write_export(path: Path, count: int, every: int, key: Ed25519PrivateKey) -> None:
    """Two passes over the deterministic stream: heads for the checkpoints, then the file."""
    heads = {e["seq"]: e["hash"] for e in events(count) if e["seq"] % every == 0}
    checkpoints, prev = [], (0, chain.GENESIS)
    for seq, head in heads.items():  # each naming the one before, as the signer makes them
        checkpoints.append(chain.sign_checkpoint(key, seq, head, prev=prev))
        prev = (seq, head)
    with path.open("wb", buffering=1 << 20) as out:
        chain.write_export(
            out, events(count), checkpoints, public_keys=[chain.public_key_bytes(key)]
        )


def ceiling(path: Path) -> int:
    """SHA-256 over each raw line chained to the previous digest; returns lines hashed."""
    sha256 = hashlib.sha256
    prev = b"\0" * 32
    count = 0
    with path.open("rb", buffering=1 << 20) as lines:
        for line in lines:
            digest = sha256(line)
            digest.update(prev)
            prev = digest.digest()
            count += 1
    return count


def best(repeat: int, run: Callable[[], object]) -> float:
    """The shortest wall time of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def against(path: Path, old_file: Path, count: int, pub: bytes, repeat: int) -> None:
    """Time this verifier and the one in ``old_file`` alternately on the export at ``path``
    without its checkpoints; print each one's best rate in wall and CPU time."""
    spec = importlib.util.spec_from_file_location("old_verify", old_file)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {old_file}")
    old = importlib.util.module_from_spec(spec)
    sys.modules["old_verify"] = old  # dataclasses look their module up
    spec.loader.exec_module(old)
    trailer = b'"checkpoints":0,'

    def lines() -> Iterator[bytes]:
        with path.open("rb", buffering=1 << 20) as export:
            next(export)  # the header names format /2, which an older verifier refuses
            for line in export:
                if line.startswith(b'{"checkpoints":'):
                    line = trailer + line[line.index(b",") + 1 :]
                    yield b"{" + line
                elif b'"type":"checkpoint"' not in line:
                    yield line

    runs: dict[str, list[tuple[float, float]]] = {"this": [], "old": []}
    for _ in range(repeat):
        for name, verify in (("this", verify_export), ("old", old.verify_export)):
            extra: dict[str, Any] = {"max_unsigned_age": None} if name == "this" else {}
            wall, cpu = time.perf_counter(), time.process_time()
            result = verify(lines(), [pub], **extra)
            runs[name].append((time.perf_counter() - wall, time.process_time() - cpu))
            if not result.ok:
                raise SystemExit(f"{name}: {result.summary()}")
    for name, timings in runs.items():
        wall = count / min(w for w, _ in timings)
        cpu = count / min(c for _, c in timings)
        print(f"    {name:>4} verify_export, orjson: {wall:>10,.0f} events/s, {cpu:>10,.0f} in CPU")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--checkpoint-every", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-stdlib", action="store_true", help="skip timing (c)")
    parser.add_argument("--against", type=Path, help="another verify.py to compare with")
    args = parser.parse_args(argv)
    count: int = args.events

    key = Ed25519PrivateKey.generate()
    pub = chain.public_key_bytes(key)
    with tempfile.TemporaryDirectory(prefix="dueprocess-bench-") as tmp:
        path = Path(tmp) / "export.jsonl"
        start = time.perf_counter()
        write_export(path, count, args.checkpoint_every, key)
        generated = time.perf_counter() - start
        size = path.stat().st_size
        sample = next(events(1))
        print(f"python {platform.python_version()} on {platform.machine()}, pid {os.getpid()}")
        print(
            f"export: {count:,} events, {count // args.checkpoint_every:,} checkpoints, "
            f"{size / 1e6:.1f} MB ({size / count:.0f} bytes/line; canonical form of event 1: "
            f"{len(chain.canonical_bytes(sample))} bytes), written in {generated:.1f} s"
        )

        outcome: dict[str, Any] = {}

        def run_verify(use_orjson: bool) -> None:
            with path.open("rb", buffering=1 << 20) as lines:
                outcome["result"] = verify_export(lines, [pub], use_orjson=use_orjson)

        verify_s = best(args.repeat, lambda: run_verify(True))
        result = outcome["result"]
        if not result.ok or result.events != count:
            print(f"verification failed: {result.summary()}", file=sys.stderr)
            return 1
        ceiling_s = best(args.repeat, lambda: ceiling(path))
        verify_rate, ceiling_rate = count / verify_s, count / ceiling_s
        print(
            f"(a) verify_export, orjson:        {verify_rate:>12,.0f} events/s ({verify_s:.2f} s)"
        )
        print(
            f"(b) chained SHA-256 (ceiling):    {ceiling_rate:>12,.0f} events/s ({ceiling_s:.2f} s)"
        )
        print(f"    (a) is {verify_rate / ceiling_rate:.0%} of the ceiling")
        if not args.skip_stdlib:
            stdlib_s = best(1, lambda: run_verify(False))
            print(f"(c) verify_export, stdlib json:   {count / stdlib_s:>12,.0f} events/s")
        if args.against:
            print(f"(d) against {args.against}, alternating, best of {args.repeat}:")
            against(path, args.against, count, pub, args.repeat)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of the process: {peak_mb:.0f} MB (the export is {size / 1e6:.0f} MB)")
    passed = verify_rate >= TARGET
    print(f"{'PASS' if passed else 'FAIL'}: {verify_rate:,.0f} events/s vs target {TARGET:,}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
