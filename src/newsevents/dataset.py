"""The prepare stage: validated Label Studio exports → examples with story-grouped folds, and a data card.

Real sentences (seed, newswire) are split into folds by group (article or source page), so no
story text is ever on both sides of a split. Authored sentences get no fold: they are only ever
training data.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from newsevents import atomic
from newsevents.datacard import examples_digest
from newsevents.labelstudio.export import ParsedExport, model_changes, parse_export
from newsevents.params import Params
from newsevents.schema import CV_SOURCES, EVENT_TYPES, HELD_OUT, HELDOUT_SOURCES, SOURCES, TRAIN_ONLY, Example

logger = logging.getLogger(__name__)


#: The folder under labels/ whose exports are authored (training-only) sets, chosen by name.
AUTHORED = "authored"


def find_exports(labels_dir: Path, authored: Sequence[str] | None = None) -> list[Path]:
    """Every Label Studio export under ``labels_dir`` (JSON files), in a stable order.

    With ``authored``, only the authored sets of those names (``labels/authored/<name>.json``) are
    kept; a name with no export is an error, so a typo in params.yaml cannot drop a set silently.
    """
    found = sorted(p for p in labels_dir.rglob("*.json") if p.is_file())
    if authored is None:
        return found
    sets = {p.stem: p for p in found if p.parent == labels_dir / AUTHORED}
    missing = sorted(set(authored) - set(sets))
    if missing:
        raise ValueError(f"{labels_dir / AUTHORED}: no export named {missing} (prepare.authored); have {sorted(sets)}")
    return [p for p in found if p.parent != labels_dir / AUTHORED or p.stem in authored]


def load_exports(paths: Sequence[Path]) -> ParsedExport:
    """Parse and merge exports; a sentence id in two files is an error naming both."""
    merged = ParsedExport()
    where: dict[str, Path] = {}
    for path in paths:
        parsed = parse_export(path)
        for ex in parsed.examples:
            if ex.id in where:
                raise ValueError(f"{path}: sentence {ex.id!r} is also in {where[ex.id]}")
            where[ex.id] = path
        merged.examples += parsed.examples
        merged.excluded += parsed.excluded
        merged.disagreements += parsed.disagreements
        merged.multi += parsed.multi
        merged.reviewed += parsed.reviewed
        merged.model_answers += parsed.model_answers
    return merged


def read_stories(path: Path) -> dict[str, str]:
    """Group id → story id, from a YAML mapping of story ids to lists of article ids or pages."""
    import yaml

    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as f:
        stories = yaml.safe_load(f) or {}
    if not isinstance(stories, dict) or not all(isinstance(v, list) for v in stories.values()):
        raise ValueError(f"{path}: expected a mapping of story ids to lists of article ids")
    story_of: dict[str, str] = {}
    for story, members in stories.items():
        for member in members:
            if str(member) in story_of:
                first = story_of[str(member)].removeprefix("story:")
                raise ValueError(f"{path}: {member} is in stories {first!r} and {story!r}")
            story_of[str(member)] = f"story:{story}"
    return story_of


def assign_folds(examples: Sequence[Example], n_folds: int) -> dict[str, int | None]:
    """Fold per example id: groups of real sentences spread over folds, authored ones TRAIN_ONLY,
    the held-out source HELD_OUT.

    Groups are placed largest first into the currently smallest fold (as scikit-learn's
    GroupKFold does), ties broken by name, so the split depends on the data alone.
    """
    sizes = Counter(ex.group for ex in examples if ex.source in CV_SOURCES)
    k = min(n_folds, len(sizes))
    fold_of_group: dict[str, int] = {}
    load = [0] * k
    for group, size in sorted(sizes.items(), key=lambda gs: (-gs[1], gs[0])):
        fold = min(range(k), key=lambda f: (load[f], f))
        fold_of_group[group] = fold
        load[fold] += size
    return {
        ex.id: fold_of_group[ex.group] if ex.source in CV_SOURCES else HELD_OUT if ex.source in HELDOUT_SOURCES
        else TRAIN_ONLY for ex in examples
    }


def agreement(multi: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Krippendorff's alpha per event type over the tasks that several annotators answered.

    Each type is a yes/no judgement per task (nominal alpha); alpha is None where it is
    undefined (fewer than two such tasks, or every answer the same).
    """
    import krippendorff
    import numpy as np

    annotators = sorted({a for m in multi for a in m["answers"]})
    per_type: dict[str, float | None] = {}
    for t in EVENT_TYPES:
        data = np.full((len(annotators), len(multi)), np.nan)
        for j, m in enumerate(multi):
            for a, labels in m["answers"].items():
                data[annotators.index(a), j] = float(t in labels)
        try:
            alpha = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
            per_type[t] = None if np.isnan(alpha) else round(float(alpha), 4)
        except ValueError:  # a single value in the whole domain: agreement is undefined
            per_type[t] = None
    return {"tasks": len(multi), "annotators": len(annotators), "krippendorff_alpha": per_type}


def multi_by_source(multi: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Tasks with several annotators, per source (the sentence id's prefix): agreement on blind
    held-out text and on model-selected pool text measure different things."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in multi:
        out[m["sentence_id"].split(":")[0]].append(m)
    return dict(out)


def first_pass_changes(reviewed: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """How review changed the labels sentences arrived with, per source: per type how many
    first-pass labels were added and removed, and every changed sentence with its reason."""
    out: dict[str, Any] = {}
    for source in sorted({r["source"] for r in reviewed}):
        rows = [r for r in reviewed if r["source"] == source]
        added, removed = Counter(), Counter()
        changes = []
        for r in rows:
            plus = [t for t in r["labels"] if t not in r["first_pass"]]
            minus = [t for t in r["first_pass"] if t not in r["labels"]]
            added.update(plus)
            removed.update(minus)
            if plus or minus:
                changes.append(r)
        out[source] = {
            "reviewed": len(rows),
            "changed": len(changes),
            "unexplained": sum(1 for r in changes if not r["reason"]),
            "added": {t: added[t] for t in EVENT_TYPES},
            "removed": {t: removed[t] for t in EVENT_TYPES},
            "changes": changes,
        }
    return out


def data_card(parsed: ParsedExport, folds: dict[str, int | None]) -> dict[str, Any]:
    """Counts per type, per source and per fold, and every excluded task with its reason."""
    per_source: dict[str, Counter[str]] = {s: Counter() for s in SOURCES}
    per_fold: dict[str, Counter[str]] = defaultdict(Counter)
    groups: dict[str, set[str]] = defaultdict(set)
    for ex in parsed.examples:
        fold = folds[ex.id]
        fold_key = "train_only" if fold is TRAIN_ONLY else "heldout" if fold == HELD_OUT else str(fold)
        for counter in (per_source[ex.source], per_fold[fold_key]):
            counter["sentences"] += 1
            counter["no_event"] += not ex.labels
            counter.update(ex.labels)
        groups[fold_key].add(ex.group)

    def table(c: Counter[str]) -> dict[str, int]:
        return {"sentences": c["sentences"], **{t: c[t] for t in EVENT_TYPES}, "no_event": c["no_event"]}

    total = sum((per_source[s] for s in SOURCES), Counter())
    return {
        "event_types": list(EVENT_TYPES),
        "total": table(total),
        "per_source": {s: table(c) for s, c in per_source.items() if c["sentences"]},
        "per_fold": {
            f: {**table(per_fold[f]), "groups": len(groups[f])} for f in sorted(per_fold)
        },
        "excluded": {
            "count": len(parsed.excluded),
            "by_reason": dict(Counter(e["reason"].split(":")[0] for e in parsed.excluded)),
            "tasks": parsed.excluded,
        },
        "disagreements": parsed.disagreements,
        "agreement": {**agreement(parsed.multi), "per_source": {
            source: agreement(rows) for source, rows in sorted(multi_by_source(parsed.multi).items())
        }} if parsed.multi else None,
        "first_pass_review": first_pass_changes(parsed.reviewed),
        "model_changes": model_changes(parsed.model_answers),
    }


def prepare(
    export_paths: Sequence[Path], n_folds: int, stories: dict[str, str] | None = None
) -> tuple[list[Example], dict[str, Any]]:
    """Examples (with their fold) and the data card, from the given exports.

    ``stories`` maps an article id (or page) to its story; examples take the story as group.
    """
    if not export_paths:
        raise ValueError("no Label Studio exports found: run `newsevents ls pull` first")
    parsed = load_exports(export_paths)
    if stories:
        parsed.examples = [replace(ex, group=stories.get(ex.group, ex.group)) for ex in parsed.examples]
    folds = assign_folds(parsed.examples, n_folds)
    examples = [replace(ex, fold=folds[ex.id]) for ex in parsed.examples]
    return examples, data_card(parsed, folds)


def write_training(examples_path: Path, data_card_path: Path, examples: Sequence[Example], card: dict[str, Any]) -> None:
    """The examples and their data card as one unit; the card carries the examples' digest, so a
    pair from two different runs is caught (``datacard.check_pair``)."""
    text = atomic.dumps_jsonl(ex.to_json() for ex in examples)
    atomic.write_texts({examples_path: text,
                        data_card_path: atomic.dumps_json({**card, "examples_sha256": examples_digest(text)})})


def main(labels_dir: Path, stories: Path, examples_path: Path, data_card_path: Path, params: Params) -> dict[str, Any]:
    """Read every export under ``labels_dir``, write the examples and the data card; returns the card."""
    exports = find_exports(labels_dir, params.prepare.authored)
    examples, card = prepare(exports, params.prepare.n_folds, read_stories(stories))
    write_training(examples_path, data_card_path, examples, card)
    logger.info(
        "prepare: %d examples from %d export(s) (%s), %d excluded → %s",
        card["total"]["sentences"], len(exports),
        ", ".join(f"{s}: {c['sentences']}" for s, c in card["per_source"].items()),
        card["excluded"]["count"], examples_path,
    )
    return card
