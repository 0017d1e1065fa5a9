"""Fits the answer confidence model (server/src/policy/confidence.rs) on a
`tandem eval --dump` of the tune set: a logistic regression of
(top passage similarity, best sentence score, coverage, sentence coverage) with answerable
questions as 1 and unanswerable ones as 0, then picks the threshold that
hands off the most unanswerable questions while at most `--max-handoff` of
answerable ones are handed off.

    tandem eval --workspace squad2 --file ../shared/eval/tune.jsonl --dump tune.dump.jsonl
    .data/model-venv/bin/python scripts/fit_confidence.py tune.dump.jsonl
"""
import argparse
import json

import numpy as np

FEATURES = ("top_similarity", "sentence_score", "coverage", "sentence_coverage")


def load(path):
    xs, ys = [], []
    for line in open(path):
        row = json.loads(line)
        if row["kind"] not in ("answerable", "unanswerable") or not row["signals"]:
            continue
        s = row["signals"]
        xs.append([s[f] for f in FEATURES])
        ys.append(1.0 if row["kind"] == "answerable" else 0.0)
    return np.array(xs), np.array(ys)


def fit(x, y, l2=1e-3, steps=20000, rate=0.5):
    w = np.zeros(x.shape[1])
    b = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        w -= rate * (x.T @ (p - y) / len(y) + l2 * w)
        b -= rate * np.mean(p - y)
    return w, b


def main():
    args = argparse.ArgumentParser()
    args.add_argument("dump")
    args.add_argument("--max-handoff", type=float, default=0.2)
    a = args.parse_args()
    x, y = load(a.dump)
    w, b = fit(x, y)
    p = 1 / (1 + np.exp(-(x @ w + b)))
    print("weights", dict(zip(FEATURES, np.round(w, 3))), "bias", round(b, 3))
    best = None
    for t in np.arange(0.05, 0.95, 0.01):
        ans_handoff = np.mean(p[y == 1] < t)
        unans_handoff = np.mean(p[y == 0] < t)
        if ans_handoff <= a.max_handoff:
            best = (t, ans_handoff, unans_handoff)
    for t in (0.3, 0.4, 0.5, 0.6):
        print(f"threshold {t:.2f}: answerable handoff {np.mean(p[y == 1] < t):.3f}, "
              f"unanswerable handoff {np.mean(p[y == 0] < t):.3f}")
    t, ah, uh = best
    print(f"chosen threshold {t:.2f}: answerable handoff {ah:.3f}, unanswerable handoff {uh:.3f}")


if __name__ == "__main__":
    main()
