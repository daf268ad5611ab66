"""The style check: simpler diction than the original, no slop; exemptions; the dataset shift."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from dada_plugin.cli import dada
from dataset_builders.style import MIN_PROSE_WORDS, dataset_shift, profile, prose, slop_hits, style_problem

ORIGINAL = ("Photosynthesis is the biochemical process by which chlorophyll-containing organisms "
            "convert electromagnetic radiation into chemical energy, subsequently releasing oxygen.")


def check(original, rewrite, question="What is photosynthesis?", drop=1.0, rate=3.0):
    return style_problem(question, original, rewrite, min_grade_drop=drop, max_slop_rate=rate)


def test_profile_by_hand():
    # 6 words, 2 sentences, 6 syllables (all short words): 0.39*3 + 11.8*1 - 15.59 < 0 -> 0
    p = profile("The cat sat. The dog ran.")
    assert (p.words, p.grade, p.word_length, p.sentence_length) == (6, 0.0, 3.0, 3.0)
    # 4 words, 1 sentence; beautiful 4, tapestry 3, the 1, sky 1 syllables
    assert profile("The beautiful tapestry sky.").grade == pytest.approx(0.39 * 4 + 11.8 * 9 / 4 - 15.59)


def test_simpler_rewrites_pass_and_others_are_rejected():
    assert check(ORIGINAL, "Plants eat sun. They make air. We breathe it.") is None
    reason, detail = check(ORIGINAL, ORIGINAL)
    assert reason == "not_simplified" and detail.startswith("grade ") and " -> " in detail
    # a margin of 0 only wants it no harder
    assert check(ORIGINAL, ORIGINAL, drop=0.0) is None
    assert check(ORIGINAL, ORIGINAL.replace("process", "electromagnetical procedure"), drop=0.0)[0] == "not_simplified"


def test_short_originals_code_and_lists_are_exempt():
    assert MIN_PROSE_WORDS == 12
    assert check("Telegram", "Telegram") is None
    assert check("The median of the given data is 7.", "The median of the given data is 7.") is None
    code = "```python\ndef add(a, b):\n    return a + b\n```"
    assert prose(code).split() == [] and check(code, code, "Write a function.") is None
    listed = "- Eat a balanced diet with vegetables\n- Exercise regularly at moderate intensity\n- Sleep eight hours"
    assert check(listed, listed, "Give three tips.") is None


def test_sloppy_rewrites_are_rejected_unless_the_question_uses_the_word():
    reason, detail = check(ORIGINAL, "Plants make food. It is a testament to nature. A tapestry of green!")
    assert reason == "sloppy" and detail == "tapestry, testament to"
    assert slop_hits("A tapestry of green.", frozenset({"tapestry"})) == []
    assert check("A tapestry is a heavy woven textile that depicts scenes, traditionally hung on castle walls.",
                 "A tapestry is a big cloth with pictures. People hang it on walls.",
                 question="What is a tapestry?") is None


def test_dataset_shift_medians():
    pairs = [(ORIGINAL, "Plants eat sun. They make air."), ("The cat sat. The dog ran.", "Cat sat.")]
    shift = dataset_shift(pairs)
    # words per sentence: 19 and 3 before, 3 and 2 after
    assert shift["sentence_length"] == {"before": 11.0, "after": 2.5}
    assert shift["grade"]["after"] < shift["grade"]["before"]
    assert len(shift["grades"]["before"]) == 2


def test_build_reports_the_shift_and_draws_the_histogram(alpaca_path, tmp_path):
    import matplotlib.image as mpimg

    out = tmp_path / "out"
    result = CliRunner().invoke(dada, ["build", str(alpaca_path), "-o", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    stats = json.loads((out / "stats.json").read_text())
    assert stats["stages"]["clean"]["rejected"] == {"not_simplified": 5}
    assert stats["kept"] == 87
    style = stats["style"]
    assert style["grade"]["after"] < style["grade"]["before"] - 1
    assert style["slop_per_1k_words"]["after"] < style["slop_per_1k_words"]["before"]
    assert "## Diction" in (out / "README.md").read_text()
    assert mpimg.imread(out / "grades.png").shape[0] > 100
    # with the original answers (backend none) nothing is judged as a rewrite
    none = tmp_path / "none"
    assert CliRunner().invoke(dada, ["build", str(alpaca_path), "-o", str(none), "--backend", "none",
                                     "--no-progress"]).exit_code == 0
    assert json.loads((none / "stats.json").read_text())["stages"]["clean"]["rejected"] == {}


def test_a_rewrite_turned_into_a_list_is_still_judged():
    listed = "- It delves into the rich tapestry of sunlight\n- A testament to chlorophyll-containing organisms"
    assert check(ORIGINAL, listed) == ("sloppy", "delves, tapestry, testament to")
    hard = "- Photosynthesis: biochemical electromagnetic conversion\n- Chlorophyll-containing organisms"
    assert check(ORIGINAL, hard)[0] == "not_simplified"
