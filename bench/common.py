"""Helpers shared by the benchmarks: medians, timing loops, a local stack to measure."""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What a bench's child process gets for AWS: any credentials, one region (nothing leaves the
# machine: DynamoDB Local or moto answers).
FAKE_AWS = {
    'AWS_ACCESS_KEY_ID': 'x',
    'AWS_SECRET_ACCESS_KEY': 'x',
    'AWS_DEFAULT_REGION': 'us-east-1',
    'AWS_REGION': 'us-east-1',
}


def median_ms(fn, n=300, warmup=20):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9)]


def python_import_seconds(statement, runs=7):
    """Median wall time of ``statement`` in fresh interpreters (what a cold start pays)."""
    code = 'import time; t = time.perf_counter(); ' + statement + '; print(time.perf_counter() - t)'
    env = {**os.environ, 'AWS_DEFAULT_REGION': 'us-east-1'}
    times = [
        float(
            subprocess.run(
                [sys.executable, '-c', code],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        for _ in range(runs)
    ]
    return statistics.median(times)


def start_dynamodb_local():
    """An in-memory DynamoDB Local, or None where it cannot start (e.g. no Java), said on
    stdout: the bench then measures on moto."""
    try:
        from local import dynamodb

        return dynamodb.start(in_memory=True)
    except Exception as error:  # noqa: BLE001 - e.g. no Java: fall back to moto
        print(f'  (DynamoDB Local unavailable: {error}; measuring on moto)')
        return None
