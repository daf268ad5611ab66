"""Fixtures for the eval tests: the calibration data and small hand-made inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def eval_data() -> Path:
    return DATA


@pytest.fixture(scope="session")
def published() -> dict:
    rows = json.loads((DATA / "published_metrics.json").read_text(encoding="utf-8"))["results"]
    return {row["model"]: row for row in rows}


@pytest.fixture
def dada_jsonl(tmp_path) -> Path:
    """A four-row dada.jsonl: clichéd originals, toddler rewrites."""
    rows = [
        ("Describe the night.", "The night was a tapestry of stars. It was a testament to "
         "beauty.", "Night is dark. Stars go blink."),
        ("Describe fear.", "Shivers down her spine, she took deep breath and waited.",
         "Me scared. Me hide."),
        ("Describe the sea.", "The sea is not a mirror, but a tapestry of light.",
         "Sea big. Sea wet. Fish in sea."),
        ("Describe a walk.", "We walked and talked until the sun dipped horizon.",
         "We walk. Sun go down."),
    ]
    path = tmp_path / "dada.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "question": q, "answer": a,
                                        "original_answer": o, "text": "<s>"}) + "\n"
                            for i, (q, o, a) in enumerate(rows)), encoding="utf-8")
    return path
