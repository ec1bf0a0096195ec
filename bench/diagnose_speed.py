"""The median time diagnose() takes per exchange, over the recorded exchanges and the
corpus of tests/fixtures/exchanges/. A benchmark, not a test: it prints, never asserts.

    .venv/bin/python bench/diagnose_speed.py [repeats]
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

import django

django.setup()

from tests.unit.test_diagnosis_diagnose_corpus import diagnosis_of as corpus_diagnosis  # noqa: E402
from tests.unit.test_diagnosis_diagnose_corpus import load_corpus  # noqa: E402
from tests.unit.test_diagnosis_diagnose_exchanges import FILES, diagnosis_of, load  # noqa: E402


def median_us(calls: list, repeats: int) -> float:
    for call in calls:  # warm the catalog and the caches
        call()
    per_exchange = []
    for call in calls:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        per_exchange.append(statistics.median(times))
    return statistics.median(per_exchange) * 1e6


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    recorded = [load(path) for path in FILES]
    recorded_calls = [lambda d=d, e=e: diagnosis_of(d, e) for d, e in recorded]
    corpus = load_corpus()
    corpus_calls = [lambda c=c: corpus_diagnosis(c) for c in corpus]
    print(
        f"recorded exchanges: {len(recorded)}, median {median_us(recorded_calls, repeats):.0f} us"
    )
    print(f"corpus exchanges:   {len(corpus)}, median {median_us(corpus_calls, repeats):.0f} us")
    both = recorded_calls + corpus_calls
    print(f"all:                {len(both)}, median {median_us(both, repeats):.0f} us")


if __name__ == "__main__":
    main()
