"""Label-error review: the gold labels most likely wrong, from out-of-fold probabilities.

cleanlab's multi-label confident learning compares every gold label with what a model that
never saw the sentence's story predicts, and ranks the sentences whose labels it doubts; each
finding carries the per-type reason so a reviewer knows what to look at.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from newsevents import atomic
from newsevents.jsonl import read_records
from newsevents.schema import EVENT_TYPES, ScoredRecord, score_matrix

logger = logging.getLogger(__name__)


def find_label_issues(records: Sequence[ScoredRecord]) -> list[dict[str, Any]]:
    """Out-of-fold records whose gold labels cleanlab flags, most suspicious first, with reasons."""
    from cleanlab.multilabel_classification.filter import find_label_issues as cl_find
    from cleanlab.multilabel_classification.rank import get_label_quality_scores

    if not records:
        return []
    labels = [[EVENT_TYPES.index(t) for t in r.labels] for r in records]
    probs = score_matrix((r.scores for r in records), dtype=np.float64)
    ranked = cl_find(labels=labels, pred_probs=probs, return_indices_ranked_by="self_confidence")
    quality = get_label_quality_scores(labels=labels, pred_probs=probs)
    issues = []
    for rank, i in enumerate(ranked, 1):
        r = records[i]
        doubts = []
        for t in EVENT_TYPES:
            p, gold = r.scores[t], t in r.labels
            if gold and p < r.thresholds[t]:
                doubts.append(f"gold has {t} but the model gives it {p:.2f}")
            elif not gold and p >= r.thresholds[t]:
                doubts.append(f"gold lacks {t} but the model gives it {p:.2f}")
        issues.append({
            "rank": rank, "id": r.id, "source": r.source, "text": r.text,
            "gold": list(r.labels), "label_quality": round(float(quality[i]), 4),
            "scores": {t: round(r.scores[t], 4) for t in EVENT_TYPES},
            "reason": "; ".join(doubts) or "low label quality across types",
        })
    return issues


def main(cv_predictions: Path, output: Path) -> list[dict[str, Any]]:
    """The review stage: rank the doubtful gold labels of the out-of-fold records into ``output``."""
    records = read_records(cv_predictions, ScoredRecord.from_json)
    issues = find_label_issues(records)
    atomic.write_jsonl(output, issues)
    logger.info("%d of %d gold labels look doubtful → %s", len(issues), len(records), output)
    for issue in issues[:10]:
        logger.info("  #%d %s %s: %s", issue["rank"], issue["id"], issue["gold"] or "no event", issue["reason"])
    return issues
