"""Cleaning what rewriters add around an answer (never the answer), and several versions."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from dada_plugin.cli import dada
from dada_plugin.testing import FakeLLMServer
from dataset_builders.commentary import multiple_answers, strip_commentary

Q = "Why is the sky blue?"
ANSWER = "Air bounce blue light! Sky look blue."
ORIGINAL = "The sky appears blue because of Rayleigh scattering of short wavelengths of sunlight."


@pytest.mark.parametrize("reply, kinds", [
    (f"Great question! {ANSWER}", ["praise"]),
    (f"What a fun question! {ANSWER}", ["praise"]),
    (f"Sure thing! {ANSWER}", ["opener"]),
    (f"{ANSWER} (Note: I kept the answer correct but used simple words.)", ["note"]),
    (f"{ANSWER}\n\nNote: The sky appears blue because of Rayleigh scattering of short wavelengths.", ["note"]),
    (f"{ANSWER} I hope this helps!", ["sign_off"]),
    (f"{ANSWER} I hope this helps! Let me know if you want more tips!", ["offer", "sign_off"]),
    (f"{ANSWER}\n\n---\nThis version uses simple words, as requested.", ["separator_meta"]),
    (f"{ANSWER} (This explanation uses toddler-like language as requested.)", ["self_description"]),
    (f"{ANSWER}\n\nWould you like to know why sunsets are red?", ["offer"]),
    (f"Great question! {ANSWER}\n\nHappy learning!", ["praise", "sign_off"]),
])
def test_commentary_is_cut_from_either_end(reply, kinds):
    text, cuts = strip_commentary(reply, Q, ORIGINAL)
    assert text == ANSWER
    assert [kind for kind, _ in cuts] == kinds


RESTATED = ("Note: The sky appears blue because molecules in the atmosphere scatter the short "
            "wavelengths of sunlight (Rayleigh scattering) far more than the long ones.")


@pytest.mark.parametrize("reply", [
    f"{ANSWER}\n{RESTATED} It is Rayleigh scattering of sunlight.",   # a line, two sentences
    f"{ANSWER} {RESTATED}",                                                   # in the same paragraph
    f"{ANSWER}\n\n**Note for grown-ups:** The sky appears blue because of Rayleigh scattering of "
    "the short wavelengths of sunlight.",
    f"{ANSWER}\n\nFor parents: the sky appears blue because of Rayleigh scattering of short wavelengths.",
])
def test_a_closing_note_restating_the_original_is_cut(reply):
    """A note that says the original again in adult prose, however it is laid out, is cut (it
    would fail the style check and lose the whole record)."""
    text, cuts = strip_commentary(reply, Q, ORIGINAL)
    assert text == ANSWER, cuts
    assert [kind for kind, _ in cuts] == ["note"]


def test_a_safety_note_that_shares_the_originals_words_stays():
    """A note adding advice the original lacks is content, however many of its words it shares."""
    answer = "Wash the owie with water! Put a bandage on it!"
    note = ("Note: if the cut keeps bleeding heavily or shows signs of infection, rinse it with clean "
            "water again, cover it with a sterile bandage, and consult a physician promptly.")
    text, cuts = strip_commentary(f"{answer} {note}", "How do I clean a cut?",
                                  "Rinse the cut with clean water and cover it with a bandage.")
    assert text == f"{answer} {note}" and cuts == []


def _unused(reply, kinds):
    text, cuts = strip_commentary(reply, Q, ORIGINAL)
    assert text == ANSWER
    assert [kind for kind, _ in cuts] == kinds


@pytest.mark.parametrize("question, reply, original", [
    # the question asks for a note, a letter, a sign-off: they are the answer
    ("Write a note to my neighbour about the noise.", "Dear neighbour, it is loud. Please be quiet.\n\n"
     "Note: I am home after six. Let me know if you need anything!", "..."),
    ("Write a short e-mail declining an invitation.", "Hi Sam, I can't come. Sorry! I hope you have fun!", "..."),
    # the original holds the same text
    ("Say goodbye politely.", "Goodbye! I hope this helps!", "Goodbye, I hope this helps!"),
    ("What should I say when a friend is sad?", "Say sorry. Let me know if you need anything.",
     "You could say: I'm sorry. Let me know if you need anything."),
    # a lone opener is an answer, not a preamble; praise of a question the user asked about
    ("Is this okay?", "Sure.", "Yes."),
    ("Which question is best?", "Great question is the one you ask!", "The one you ask."),
    # parentheses that are part of the answer
    (Q, f"{ANSWER} (Blue light is short.)", "..."),
])
def test_what_belongs_to_the_answer_stays(question, reply, original):
    assert strip_commentary(reply, question, original) == (reply, [])


def test_several_versions_are_found():
    assert multiple_answers("Version 1: Drink water.\nVersion 2: Sleep a lot.", "Drink water.")
    assert multiple_answers("**Option A:** Run.\n\n**Option B:** Walk.", "Run.")
    assert not multiple_answers("Step 1: mix. Step 2: bake.", "Mix, then bake.")
    # the original answer had options too: they are the answer
    assert not multiple_answers("Option 1: tea. Option 2: milk.", "Option 1: tea. Option 2: milk.")


ABERRATIONS = {
    "kept": lambda a: f"Great question! {a} I hope this helps! Let me know if you want more tips!",
    "note": lambda a: f"{a}\n\nNote: I kept the answer correct but used simple words a toddler knows.",
    "paren": lambda a: f"{a} (This explanation uses toddler-like language as requested.)",
    "separator": lambda a: f"Sure thing! {a}\n\n---\nI rewrote it with short words.",
    "versions": lambda a: f"Version 1: {a}\nVersion 2: {a.upper()}",
    "plain": lambda a: a,
}


def test_build_against_a_server_with_realistic_aberrations_keeps_clean_answers(tmp_path):
    """Every reply wrapped in what instruction models add: the kept answers carry none of it,
    several versions are rejected, cuts are counted by kind in stats.json and shown in the card."""
    questions = {f"Question {i}: why do cats purr?": name for i, name in enumerate(ABERRATIONS)}
    questions["How many legs does a spider have?"] = "number"
    rows = [{"instruction": q, "input": "", "output": "A spider has eight legs." if name == "number"
             else f"Cats purr when they are happy ({q[9]})."} for q, name in questions.items()]
    src = tmp_path / "a.json"
    src.write_text(json.dumps(rows))

    def reply(messages):
        prompt = messages[-1]["content"]
        question = next(q for q in questions if q in prompt)
        kind = questions[question]
        if kind == "number":
            return "Spider has lots and lots of legs!"
        return ABERRATIONS[kind](f"Cat purr when happy ({question[9]}).")

    out = tmp_path / "out"
    with FakeLLMServer(reply=reply) as srv:
        result = CliRunner().invoke(dada, ["build", str(src), "-o", str(out), "--backend", "openai",
                                           "--model", "m", "--base-url", srv.url, "--no-progress"])
    assert result.exit_code == 0, result.output
    kept = [json.loads(line)["answer"] for line in (out / "dada.jsonl").read_text().splitlines()]
    assert sorted(kept) == [f"Cat purr when happy ({i})." for i in (0, 1, 2, 3, 5)]
    rejected = {json.loads(line)["reason"]: json.loads(line) for line in (out / "rejected.jsonl").read_text().splitlines()}
    assert set(rejected) == {"multiple_answers", "lost_facts"}
    assert rejected["lost_facts"]["detail"] == "number 8"
    stats = json.loads((out / "stats.json").read_text())["stages"]["clean"]
    assert stats["rejected"] == {"multiple_answers": 1, "lost_facts": 1}
    assert stats["cuts"] == {"praise": 1, "sign_off": 1, "offer": 1, "note": 1, "self_description": 1,
                             "opener": 1, "separator_meta": 1}
    card = (out / "README.md").read_text()
    assert "## Cleaning" in card and "~~Great question!~~ Cat purr when happy (0)." in card


def test_a_long_note_paragraph_is_still_found():
    """The quick look at the end does not miss a note longer than what it reads."""
    note = "Note: " + "The original answer explained this in adult words at length. " * 12
    text, cuts = strip_commentary(f"{ANSWER}\n\n{note}", Q, "...")
    assert text == ANSWER and [kind for kind, _ in cuts] == ["note"]
    remark = "This version uses short words. " * 15  # 90 words, past the quick look
    text, cuts = strip_commentary(f"{ANSWER}\n\n---\n{remark}", Q, "...")
    assert text == ANSWER and [kind for kind, _ in cuts] == ["separator_meta"]


@pytest.mark.parametrize("reply", [
    # advice that opens like an offer or a sign-off, and notes that are content
    f"{ANSWER} If you have a big fever for three days, go see a doctor.",
    f"{ANSWER} Just ask a grown-up to help you with the knife.",
    f"{ANSWER}\n\nNote: never mix bleach and ammonia.",
    f"{ANSWER} Have a drink every 20 minutes!",
    f"{ANSWER} Enjoy the cake with friends!",
    f"{ANSWER} If you want more money back, ask for a manager.",
    f"{ANSWER} (Toddlers need lots of naps.)",
    "Okay, so the sky is blue because air bounces blue light.",
])
def test_advice_and_content_that_look_like_commentary_stay(reply):
    assert strip_commentary(reply, Q, ORIGINAL) == (reply, [])


def test_a_separator_before_the_answer_itself_stays():
    reply = "---\n\nIn simple words: plants use sun to make food."
    assert strip_commentary(reply, "What is photosynthesis?", "...") == (reply.strip(), [])
