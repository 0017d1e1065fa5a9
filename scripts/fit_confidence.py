"""Fits the answer confidence models (server/src/policy/confidence.rs) on
`tandem eval --dump` files of the *tune* sets: logistic regressions with
answerable questions as 1 and unanswerable ones as 0.

Two models, because word overlap means nothing across languages:
  - same language: (top passage similarity, best sentence score, coverage,
    sentence coverage);
  - cross-lingual (the question's language is not the best passage's):
    (top passage similarity, best sentence score) only.
Each dump file weighs the same in the fit (a 1,300-question Wikipedia set must
not drown a 60-question technical one), and within a file the two classes
weigh the same.

    make eval   # or, per file:
    tandem eval --workspace squad2 --file ../shared/eval/tune.jsonl --dump tune.dump.jsonl
    tandem eval --workspace squad2 --file ../shared/eval/xling-tune.jsonl --dump xling.dump.jsonl
    tandem eval --workspace sqlite --file ../shared/eval/sqlite-tune.jsonl --dump sqlite.dump.jsonl
    .data/model-venv/bin/python scripts/fit_confidence.py tune.dump.jsonl xling.dump.jsonl sqlite.dump.jsonl

Never pass a *-report dump: the report files are for reporting only.
"""
import argparse
import json

import numpy as np

MONO = ("top_similarity", "sentence_score", "coverage", "sentence_coverage")
CROSS = ("top_similarity", "sentence_score")


def load(paths):
    rows = []
    for f, path in enumerate(paths):
        assert "report" not in path, "fit on tune dumps only"
        for line in open(path):
            row = json.loads(line)
            if row["kind"] not in ("answerable", "unanswerable") or not row["signals"]:
                continue
            s = row["signals"]
            rows.append((f, s.get("cross_lingual", False), s, 1.0 if row["kind"] == "answerable" else 0.0))
    return rows


def fit(x, y, w, l2=1e-3, steps=20000, rate=0.5):
    beta = np.zeros(x.shape[1])
    b = 0.0
    w = w / w.sum()
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ beta + b)))
        beta -= rate * (x.T @ (w * (p - y)) + l2 * beta)
        b -= rate * np.sum(w * (p - y))
    return beta, b


def weights(files, y):
    w = np.ones(len(y))
    for f in set(files):
        for cls in (0.0, 1.0):
            m = (files == f) & (y == cls)
            if m.any():
                w[m] = 1.0 / m.sum()
    return w


def main():
    args = argparse.ArgumentParser()
    args.add_argument("dumps", nargs="+")
    a = args.parse_args()
    rows = load(a.dumps)
    for name, features, cross in (("same language", MONO, False), ("cross-lingual", CROSS, True)):
        # The cross-lingual model learns from every case on meaning alone
        # (there are no cross-lingual unanswerable questions in the tune
        # sets): same-language cases teach where off-topic questions fall,
        # cross-lingual answerable ones how far translation lowers the scores.
        sel = [r for r in rows if r[1] == cross or cross]
        if not sel:
            print(f"{name}: no cases")
            continue
        x = np.array([[r[2][f] for f in features] for r in sel])
        y = np.array([r[3] for r in sel])
        files = np.array([r[0] for r in sel])
        beta, b = fit(x, y, weights(files, y))
        print(f"{name} ({len(sel)} cases): weights", dict(zip(features, np.round(beta, 3))), "bias", round(b, 3))
        p = 1 / (1 + np.exp(-(x @ beta + b)))
        for f in sorted(set(files)):
            m = files == f
            for t in (0.3, 0.4, 0.5, 0.6):
                print(f"  {a.dumps[f]}: threshold {t:.2f}: answerable handoff "
                      f"{np.mean(p[m & (y == 1)] < t):.3f}, unanswerable handoff {np.mean(p[m & (y == 0)] < t):.3f}")


if __name__ == "__main__":
    main()
