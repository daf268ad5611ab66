"""The side-by-side report: files, numbers equal to the metrics, valid PNGs, stable intervals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dada_plugin.eval.bootstrap import intervals, resample_weights
from dada_plugin.eval.corpus import build_corpus
from dada_plugin.text.lists import load_lists
from dada_plugin.eval.metrics import METRICS, analyse, statistics
from dada_plugin.eval.report import flat_values, write_report
from dada_plugin.eval.sources import read_source

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    """A report of two "models" (here: hand-written samples) with charts."""
    samples = {
        "sloppy": [(f"p{i}", f"Her voice barely above a whisper, a testament to night {i}. "
                             "Shivers down her spine.") for i in range(6)],
        "toddler": [(f"p{i}", f"Me sleepy. Night {i} dark. Me go bed.") for i in range(6)],
    }
    out = tmp_path_factory.mktemp("report")
    paths = write_report(samples, out, n_resamples=50, seed=0)
    return out, paths, samples


def test_report_files_exist(report_dir):
    out, paths, _ = report_dir
    assert paths["json"] == out / "report.json" and paths["markdown"] == out / "report.md"
    assert sorted(p.name for p in paths["charts"]) == sorted([f"{m}.png" for m in METRICS] + ["leaderboard.png"])
    assert sorted(p.name for p in out.iterdir()) == ["charts", "report.json", "report.md"]


def test_report_numbers_are_the_metrics(report_dir):
    out, _, samples = report_dir
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["settings"] == {"bootstrap_resamples": 50, "seed": 0, "level": 0.95,
                                  "legacy_normalization": False, "resampled_unit": "prompt"}
    for name, model_samples in samples.items():
        direct = analyse(model_samples)
        got = report["models"][name]
        assert got["metrics"] == direct["metrics"]
        assert got["top_offenders"] == direct["top_offenders"]
        assert got["values"] == flat_values(direct["metrics"])
        for metric, (low, high) in got["ci"].items():
            assert low <= got["values"][metric] + 1e-12 and got["values"][metric] <= high + 1e-12


def test_report_markdown_has_a_row_per_metric(report_dir):
    out, _, _ = report_dir
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "| metric | better | sloppy | toddler |" in text
    for spec in METRICS.values():
        assert f"| {spec.label} |" in text
    assert "- antislop phrases: barely above a whisper (6)" in text


def test_report_ranks_each_model_and_pairs_them(report_dir):
    """Slop Score with its interval and rank per model; the paired difference (toddler minus
    sloppy on the same six prompts) excludes 0 for the Slop Score: it went down."""
    out, _, samples = report_dir
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    text = (out / "report.md").read_text(encoding="utf-8")
    for name in samples:
        r = report["models"][name]
        low, high = r["ci"]["slop_score"]
        assert f"- {name}: Slop Score {r['metrics']['slop_score']:.2f} [{low:.4g}, {high:.4g}], " \
               f"{r['leaderboard']['text']}" in text
    pair = report["paired"]["toddler"]
    assert (pair["minus"], pair["prompts"]) == ("sloppy", 6)
    d = pair["metrics"]["slop_score"]
    want = report["models"]["toddler"]["values"]["slop_score"] - report["models"]["sloppy"]["values"]["slop_score"]
    assert d["difference"] == pytest.approx(want)
    assert d["ci"][0] <= d["difference"] <= d["ci"][1] < 0
    assert "### toddler minus sloppy (6 shared prompts)" in text
    assert f"| Slop Score (leaderboard composite) | lower | {d['difference']:.4g} [" in text
    assert "] (better) |" in text.split("| Slop Score (leaderboard composite) | lower |")[1].split("\n")[0]


def test_paired_intervals_need_shared_prompts_and_use_the_same_draws():
    from dada_plugin.eval.bootstrap import paired_intervals

    lists = load_lists(False)
    a = build_corpus([(f"p{i}", f"A tapestry {i}.") for i in range(5)])
    b = build_corpus([(f"p{i}", f"A cat {i}.") for i in range(5)] + [("extra", "tapestry tapestry")])
    stats_a, stats_b = statistics(a, lists), statistics(b, lists)
    pair = paired_intervals(stats_a, a.prompts, stats_b, b.prompts, n_resamples=40, seed=1)
    assert pair["prompts"] == 5  # "extra" is answered by one model only: left out
    d = pair["metrics"]["slop_list_matches_per_1k_words"]
    # every shared prompt: A has 1 slop word in 2 tokens, B none; the same draws for both, so
    # the difference is the same in every resample
    assert d["difference"] == pytest.approx(-500.0) and d["ci"] == pytest.approx([-500.0, -500.0])
    other = build_corpus([("q", "A tapestry.")])
    assert paired_intervals(stats_a, a.prompts, statistics(other, lists), other.prompts) is None


def test_mattr_resample_recomputes_the_windows():
    """A resample's MATTR is the MATTR of the resampled stream (drawn texts repeated in order),
    not a reweighting of the original windows."""
    from dada_plugin.eval.metrics import Mattr, mattr

    texts = [(f"p{i}", " ".join(f"w{i}x{j % (40 + i)}" for j in range(300))) for i in range(4)]
    texts = [(p, t.replace("0", "a").replace("1", "b").replace("2", "c").replace("3", "d")
              .replace("4", "e").replace("5", "f").replace("6", "g").replace("7", "h")
              .replace("8", "i").replace("9", "j")) for p, t in texts]
    corpus = build_corpus(texts)
    stat = Mattr(corpus.ids, corpus.bounds)
    weights = np.array([2.0, 0.0, 1.0, 1.0])
    stream = np.concatenate([corpus.ids[corpus.bounds[r]:corpus.bounds[r + 1]]
                             for r in (0, 0, 2, 3)])
    assert stat.resample(weights) == pytest.approx(mattr(stream))
    assert stat.resample(np.ones(4)) == pytest.approx(stat.value())
    # a text drawn twice puts repeats inside windows that span the join: lower than reweighting
    assert stat.resample(np.array([2.0, 0.0, 0.0, 0.0])) < mattr(corpus.ids[:corpus.bounds[1]])


def test_report_charts_are_valid_pngs(report_dir):
    import matplotlib.image as mpimg

    _, paths, _ = report_dir
    for path in paths["charts"]:
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        image = mpimg.imread(path)
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


def test_dataset_mode_report(dada_jsonl, tmp_path):
    src = read_source(dada_jsonl)
    write_report(src.columns, tmp_path, n_resamples=10, charts=False)
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    orig, new = (report["models"][k]["values"] for k in ("original_answer", "answer"))
    assert new["vocab_level"] < orig["vocab_level"]
    key = "antislop_phrase_matches_per_1k_words"
    assert new[key] < orig[key]


def test_bootstrap_is_seeded_and_zero_width_for_identical_outputs():
    samples = [(f"p{i}", "A tapestry. A testament to it.") for i in range(8)]
    corpus = build_corpus(samples)
    stats = statistics(corpus, load_lists(False))
    first = intervals(stats, corpus.groups, n_resamples=30, seed=3)
    assert first == intervals(stats, corpus.groups, n_resamples=30, seed=3)
    low, high = first["slop_list_matches_per_1k_words"]
    # 6 tokens (a tapestry a testament to it), 1 slop word, in every output
    assert low == pytest.approx(high) == pytest.approx(1 / 6 * 1000)


def test_bootstrap_draws_whole_prompts():
    # two outputs for each prompt: a resample takes both or neither
    samples = [(p, text) for p, text in (("a", "tapestry x"), ("b", "x x"), ("c", "x x"))
               for _ in range(2)]
    corpus = build_corpus(samples)
    assert corpus.groups.tolist() == [0, 0, 1, 1, 2, 2]
    for weights in resample_weights(corpus.groups, 20, seed=0):
        assert weights[0::2].tolist() == weights[1::2].tolist()
        assert weights.sum() == 6
    stat = statistics(corpus, load_lists(False))["slop_list_matches_per_1k_words"]
    # prompt a twice, c once: 4 hits in 12 tokens
    assert stat.resample(np.array([2, 2, 0, 0, 1, 1.0])) == pytest.approx(4 / 12 * 1000)


def test_no_resamples_gives_point_intervals():
    result = analyse([("p", "A tapestry.")], n_resamples=0)
    assert all(low == high == result["values"][k] for k, (low, high) in result["ci"].items())
