"""Sequence tagging (many-to-many): SequenceTagger and `seqtext tag`."""

import json
import random

import pytest
import torch
from click.testing import CliRunner

from seqtext import SequenceTagger, load
from seqtext.cli import cli
from seqtext.errors import DataError
from seqtext.tag.data import read_conllu, read_tagged

from conftest import assert_clean_failure

VERBS = "runs eats sees takes makes gives finds".split()
OTHERS = "cat dog the a big small red house tree old new man".split()
FAST = dict(embed=16, chars=0, hidden=24, epochs=15, batch_size=16, lr=0.01, patience=15, device="cpu",
            word_dropout=0.0, embed_dropout=0.0, output_dropout=0.0)

CONLLU = """# text = I don't go.
1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
1\tdo\tdo\tAUX\tVBP\t_\t3\taux\t_\t_
2\tn't\tnot\tPART\tRB\t_\t3\tadvmod\t_\t_
3\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\t_
3.1\tgo\tgo\tVERB\tVB\t_\t_\t_\t0:root\t_
4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\tSpaceAfter=No

1\tRun\trun\tVERB\tVB\t_\t0\troot\t_\t_
2\t!\t!\tPUNCT\t.\t_\t1\tpunct\t_\t_
"""


def next_is_verb(n, seed):
    """Tag each word by whether the NEXT word is a verb: only the right context tells."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = [rng.choice(VERBS if rng.random() < 0.35 else OTHERS) for _ in range(rng.randint(3, 10))]
        tags = ["NEXT-V" if i + 1 < len(words) and words[i + 1] in VERBS else "O" for i in range(len(words))]
        out.append((words, tags))
    return out


def write_wordtag(path, pairs):
    path.write_text("\n\n".join("\n".join(f"{w}\t{t}" for w, t in zip(*p)) for p in pairs) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def bidirectional(tmp_path_factory):
    root = tmp_path_factory.mktemp("tag")
    train, dev = write_wordtag(root / "train.txt", next_is_verb(400, 1)), write_wordtag(root / "dev.txt",
                                                                                       next_is_verb(100, 2))
    tagger = SequenceTagger(**FAST, seed=0).fit(train, dev=dev, checkpoint_dir=root / "model")
    return tagger, root


def test_the_next_word_task_needs_the_right_context(bidirectional):
    tagger, root = bidirectional
    assert tagger.summary["valid_accuracy"] >= 0.97
    forward = SequenceTagger(**FAST, bidirectional=False, seed=0).fit(root / "train.txt", dev=root / "dev.txt")
    assert forward.summary["valid_accuracy"] <= 0.8  # about the share of words not followed by a verb
    assert tagger.predict([["the", "cat", "runs", "dog", "eats"]]) == [["O", "NEXT-V", "O", "NEXT-V", "O"]]


def test_predictions_do_not_depend_on_batching_or_padding(bidirectional):
    tagger, _ = bidirectional
    sentences = [["cat"], ["the", "big", "dog", "eats", "a", "red", "house", "tree", "old", "man", "runs"],
                 ["dog", "runs"]]
    encoded = tagger.task.encode(sentences)
    words, forms, chars, lengths, _ = encoded.batch([0, 1, 2])
    together = tagger.net(words, forms, chars, lengths)
    for k in range(3):
        w, f, c, n, _ = encoded.batch([k])
        alone = tagger.net(w, f, c, n)[0]
        assert torch.allclose(alone, together[k, :len(sentences[k])], atol=1e-5)


def test_save_and_load_give_identical_tags_and_scores(bidirectional):
    tagger, root = bidirectional
    again = load(root / "model")
    assert type(again) is SequenceTagger
    sentences = next_is_verb(20, 5)
    assert again.predict([w for w, _ in sentences]) == tagger.predict([w for w, _ in sentences])
    batch = tagger.task.encode([w for w, _ in sentences]).batch(list(range(20)))
    assert torch.equal(again.net(*batch[:4]), tagger.net(*batch[:4]))
    assert json.loads((root / "model" / "config.json").read_text())["kind"] == "tag"


def test_evaluate_accuracy_equals_a_count_by_hand(bidirectional, tmp_path):
    tagger, root = bidirectional
    pairs = [(["cat", "runs", "zebra", "eats"], ["NEXT-V", "O", "O", "O"]), (["the", "dog"], ["O", "NEXT-V"])]
    file = write_wordtag(tmp_path / "small.txt", pairs)
    predicted = tagger.predict([w for w, _ in pairs])
    flat = [(p, g) for row, (_, gold) in zip(predicted, pairs) for p, g in zip(row, gold)]
    by_hand = sum(p == g for p, g in flat) / len(flat)
    report = tagger.evaluate(file)
    assert report["accuracy"] == by_hand and report["count"] == 6
    assert report["unseen_words"] == 1  # zebra
    assert report["unseen_accuracy"] == (predicted[0][2] == "O")
    result = CliRunner().invoke(cli, ["tag", "evaluate", "--model", str(root / "model"), "--data", str(file), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["accuracy"] == by_hand


def test_conllu_ranges_and_empty_nodes_are_not_words(tmp_path):
    file = tmp_path / "small.conllu"
    file.write_text(CONLLU, encoding="utf-8")
    sentences, lines = read_tagged(file)
    assert sentences == [(["do", "n't", "go", "."], ["AUX", "PART", "VERB", "PUNCT"]), (["Run", "!"], ["VERB", "PUNCT"])]
    assert lines == [[3, 4, 5, 7], [9, 10]]  # each word's line: not the range's, not the empty node's
    assert read_tagged(file, "xpos")[0][0][1] == ["VBP", "RB", "VB", "."]
    assert len(read_conllu(file)[0]) == 6  # the range and the empty node are kept for writing back


def test_characters_and_case_tag_unseen_words():
    """Capitalised words are names: with character features an unseen capitalised word is still tagged one."""
    rng = random.Random(0)

    def name():
        return rng.choice("BCDFGKLMNPRST") + "".join(rng.choice("aeiou" + "lmnrst") for _ in range(rng.randint(3, 6)))

    def noun():
        return "".join(rng.choice("aeiou" + "lmnrst") for _ in range(rng.randint(4, 7)))

    def sentences(n):
        out = []
        for _ in range(n):
            pairs = [(name(), "PROPN") if rng.random() < 0.5 else (noun(), "NOUN") for _ in range(rng.randint(2, 6))]
            out.append(([w for w, _ in pairs], [t for _, t in pairs]))
        return out

    train, test = sentences(300), sentences(50)
    options = {**FAST, "epochs": 6}
    with_chars = SequenceTagger(**{**options, "chars": 16}, seed=0).fit(train)
    without = SequenceTagger(**options, seed=0).fit(train)
    assert with_chars.evaluate(test)["unseen_accuracy"] >= 0.95
    assert without.evaluate(test)["unseen_accuracy"] <= 0.75


def test_predict_command_formats(bidirectional, tmp_path):
    model = str(bidirectional[1] / "model")
    result = CliRunner().invoke(cli, ["tag", "predict", "--model", model, "the cat runs."])
    assert result.exit_code == 0, result.output
    assert result.output == "the\tO\ncat\tNEXT-V\nruns\tO\n.\tO\n\n"
    result = CliRunner().invoke(cli, ["tag", "predict", "--model", model, "--json"], input="dog eats\n")
    assert json.loads(result.output) == {"words": ["dog", "eats"], "tags": ["NEXT-V", "O"]}
    file = tmp_path / "in.conllu"
    file.write_text(CONLLU.replace("VERB", "_").replace("AUX", "_"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["tag", "predict", "--model", model, "--file", str(file), "--conllu"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].startswith("1-2\tdon't") and any(line.startswith("3.1\t") for line in lines)
    piped = CliRunner().invoke(cli, ["tag", "predict", "--model", model, "--conllu"],  # CoNLL-U on stdin, known as such
                               input=file.read_bytes())
    assert piped.exit_code == 0 and piped.output == result.output, piped.output
    bom = tmp_path / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbfthe cat runs.\n")
    result = CliRunner().invoke(cli, ["tag", "predict", "--model", model, "--file", str(bom)])
    assert result.output == "the\tO\ncat\tNEXT-V\nruns\tO\n.\tO\n\n"  # no byte-order mark read as a word
    bad = CliRunner().invoke(cli, ["tag", "predict", "--model", model], input=b"dog eats\n\xff\n")
    assert_clean_failure(bad, "stdin is not UTF-8 text")
    assert_clean_failure(CliRunner().invoke(cli, ["tag", "predict", "--model", model, "dog eats", " "]),
                         "sentence 2 is empty")
    tagged = write_wordtag(tmp_path / "tagged.txt", next_is_verb(3, 0))  # training data given to predict
    assert_clean_failure(CliRunner().invoke(cli, ["tag", "predict", "--model", model, "--file", str(tagged)]),
                         "holds word<TAB>tag lines, tagged data; give raw sentences")
    pasted = CliRunner().invoke(cli, ["tag", "predict", "--model", model], input="dog eats\tthe cat runs.\n")
    assert pasted.exit_code == 0, pasted.output  # a sentence with a tab in it (cells pasted) is no word<TAB>tag line
    assert [line.split("\t")[0] for line in pasted.output.splitlines()] == ["dog", "eats", "the", "cat", "runs", ".", ""]
    sentences = tmp_path / "sst.tsv"  # a classifier's text<TAB>label file given as tagged data
    sentences.write_text("a fine film\t1\n\nnot good\t0\n", encoding="utf-8")
    assert_clean_failure(CliRunner().invoke(cli, ["tag", "train", "--data", str(sentences), "--out",
                                                  str(tmp_path / "m")]),
                         "sst.tsv line 1 is not word<TAB>tag (the word 'a fine film' holds a space)")
    assert not (tmp_path / "m").exists()


def test_bad_inputs_are_one_sentence_and_write_nothing(tmp_path, bidirectional):
    def train(data):
        out = tmp_path / "out"
        result = CliRunner().invoke(cli, ["tag", "train", "--data", str(data), "--out", str(out), "--epochs", "1",
                                          "--quiet", "--device", "cpu"])
        assert not out.exists()
        return result

    bad = tmp_path / "bad.conllu"
    bad.write_text(CONLLU.replace("3\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\t_", "3\tgo\tgo\tVERB\tVB\t_\t0\troot\t_"))
    assert_clean_failure(train(bad), "bad.conllu line 5 has 9 tab-separated columns", "CoNLL-U needs 10")
    missing = tmp_path / "missing.txt"
    missing.write_text("the\tO\ncat\n\ndog\tO\n")
    assert_clean_failure(train(missing), "missing.txt line 2 is not word<TAB>tag (1 tab-separated field)")
    missing.write_text("the\tO\ncat\t\n\ndog\tO\n")
    assert_clean_failure(train(missing), "missing.txt line 2 is not word<TAB>tag (an empty tag)")
    same = write_wordtag(tmp_path / "same.txt", [(["a", "b"], ["X", "X"])])
    assert_clean_failure(train(same), "every tag in", "is 'X'")
    with pytest.raises(DataError, match="sentence 1 has 2 words but 1 tags"):
        SequenceTagger(**FAST).fit([(["a", "b"], ["X"])])
    unseen = write_wordtag(tmp_path / "unseen.txt", [(["cat", "runs"], ["NEXT-V", "VERB"])])
    result = CliRunner().invoke(cli, ["tag", "evaluate", "--model", str(bidirectional[1] / "model"),
                                      "--data", str(unseen)])
    assert_clean_failure(result, "the tag 'VERB'", "unseen.txt line 2", "never seen in training")  # its own line
    comments = tmp_path / "comments.conllu"
    comments.write_text("# sent_id = 1\n# text = nothing here\n\n# sent_id = 2\n")
    assert_clean_failure(train(comments), "comments.conllu holds no sentences with words")
    assert_clean_failure(train(tmp_path), "is a directory; give the data file itself")
    result = CliRunner().invoke(cli, ["tag", "evaluate", "--model", str(bidirectional[1] / "model"),
                                      "--data", str(comments)])
    assert_clean_failure(result, "comments.conllu holds no sentences with words")
    good = write_wordtag(tmp_path / "good.txt", [(["a", "b"], ["X", "Y"])] * 4)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["tag", "train", "--data", str(good), "--dev", str(comments), "--out",
                                      str(out), "--epochs", "1", "--quiet", "--device", "cpu"])
    assert_clean_failure(result, "comments.conllu holds no sentences with words")  # a --dev without sentences too
    gap = tmp_path / "gap.conllu"
    gap.write_text(CONLLU + "\n# sent_id = 3\n# text = -\n")  # a third sentence of comments only, from line 12
    result = CliRunner().invoke(cli, ["tag", "predict", "--model", str(bidirectional[1] / "model"), "--file",
                                      str(gap)])
    assert_clean_failure(result, "gap.conllu line 12: the sentence there has no words to tag")
    assert not out.exists()
    model = str(bidirectional[1] / "model")
    # a field left empty (CoNLL-U writes _), or one the parser refuses, is named by its own line
    for field, line, fragment in [("\tdo\t", 3, "its FORM column is blank"), ("\tVERB\tVB\t_\t0", 5,
                                                                               "its UPOS column is blank")]:
        broken = tmp_path / "broken.conllu"
        broken.write_text(CONLLU.replace(field, field.replace("do", "").replace("VERB", ""), 1))
        assert_clean_failure(train(broken), f"broken.conllu line {line}: {fragment}", "writes _ for a value not given")
        result = CliRunner().invoke(cli, ["tag", "evaluate", "--model", model, "--data", str(broken)])
        assert_clean_failure(result, f"broken.conllu line {line}: {fragment}")
    broken.write_text(CONLLU.replace("4\t.\t.", "x\t.\t."))
    assert_clean_failure(train(broken), "broken.conllu line 7 is not valid CoNLL-U", "'x' is not a valid ID")
    # CoNLL-U on stdin with a line short of a column is refused naming it, not tagged as raw text
    short = CONLLU.replace("3\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\t_", "3\tgo\tgo\tVERB\tVB\t_\t0\troot\t_")
    result = CliRunner().invoke(cli, ["tag", "predict", "--model", model], input=short)
    assert_clean_failure(result, "stdin line 5 has 9 tab-separated columns")
    numbered = "1\tThe cat sat .\tsource-a\n2\tA dog ran .\tsource-b\n"  # raw text with tabs, no CoNLL-U comments
    result = CliRunner().invoke(cli, ["tag", "predict", "--model", model, "--json"], input=numbered)
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["words"][:3] for line in result.output.splitlines()] == [["1", "The", "cat"],
                                                                                     ["2", "A", "dog"]]
    result = CliRunner().invoke(cli, ["tag", "predict", "--model", model], input="the cat\n\u200b\n")
    assert_clean_failure(result, "stdin line 2: a sentence to tag is empty or has an empty word")
    assert not out.exists()


def test_models_of_other_kinds_are_refused(bidirectional, tiny_model_dir):
    result = CliRunner().invoke(cli, ["tag", "predict", "--model", str(tiny_model_dir), "a b"])
    assert_clean_failure(result, "holds a text model, not a tag model")
    result = CliRunner().invoke(cli, ["complete", "--model", str(bidirectional[1] / "model"), "a b"])
    assert_clean_failure(result, "holds a tag model, not a text model", "seqtext tag predict")


def test_an_unannotated_upos_is_no_tag_neither_trained_on_nor_scored(bidirectional, tmp_path):
    """CoNLL-U's "_" in UPOS or XPOS means "not annotated": the word is read (it is context) but has no tag, so it is
    not a class to learn, and evaluation leaves it out.  In other columns "_" is a value (FEATS: none)."""
    file = tmp_path / "partial.conllu"
    file.write_text(CONLLU.replace("3\tgo\tgo\tVERB\tVB", "3\tgo\tgo\t_\tVB"), encoding="utf-8")
    sentences, _ = read_tagged(file)
    assert sentences[0] == (["do", "n't", "go", "."], ["AUX", "PART", None, "PUNCT"])
    assert read_tagged(file, "feats")[0][0][1] == ["_", "_", "_", "_"]  # a value there, kept
    tagger, root = bidirectional
    pairs = [(["cat", "runs", "zebra", "eats"], ["NEXT-V", None, "O", "O"]), (["the", "dog"], [None, "NEXT-V"])]
    predicted = tagger.predict([w for w, _ in pairs])
    flat = [(p, g) for row, (_, gold) in zip(predicted, pairs) for p, g in zip(row, gold) if g is not None]
    report = tagger.evaluate(pairs)
    assert report["count"] == 4 and report["accuracy"] == sum(p == g for p, g in flat) / 4
    untagged = SequenceTagger(**{**FAST, "epochs": 1}, seed=0).fit(
        [(["a", "b", "c"], ["X", None, "Y"])] * 8 + [(["b", "a"], [None, "Y"])] * 4,
        dev=[(["a", "b", "c"], ["X", None, "Y"])] * 2, checkpoint_dir=tmp_path / "untagged")
    assert untagged.tags == ["X", "Y"]  # None is no class
    assert untagged.summary["valid_words"] == 4  # the words the validation accuracy is over
    # sentences with no tag at all teach nothing: left out, not a batch whose mean loss is nan ("diverged")
    sparse = SequenceTagger(**{**FAST, "epochs": 2, "batch_size": 2}, seed=0).fit(
        [(["a", "b"], [None, None])] * 10 + [(["a", "b", "c"], ["X", "Y", "X"])] * 10,
        dev=[(["a", "b", "c"], ["X", "Y", "X"])] * 2)
    assert sparse.summary["train_sentences"] == 10 and sparse.summary["valid_accuracy"] > 0
    with pytest.raises(DataError, match="no word in the evaluation sentences has a tag"):
        untagged.evaluate([(["a", "b"], [None, None])])
    none = tmp_path / "none.conllu"
    none.write_text("1\tHi\thi\t_\t_\t_\t0\troot\t_\t_\n2\tthere\tthere\t_\t_\t_\t1\tdep\t_\t_\n\n", encoding="utf-8")
    with pytest.raises(DataError, match=f"no word in {none} has a tag"):  # the file evaluated is named
        untagged.evaluate(none)
    result = CliRunner().invoke(cli, ["tag", "evaluate", "--model", str(tmp_path / "untagged"), "--data", str(none)])
    assert_clean_failure(result, f"no word in {none} has a tag (every one is '_', not annotated); give a tagged file.")
    result = CliRunner().invoke(cli, ["tag", "train", "--data", str(none), "--out", str(tmp_path / "m")])
    assert_clean_failure(result, "no word in", "has a tag (every one is '_', not annotated)", "--column")
    assert not (tmp_path / "m").exists()


def test_a_tag_only_in_the_held_out_share_is_known(tmp_path):
    """Without --dev a share of the file is held out for validation; a rare tag that falls only there is one of
    the user's own tags, not an error (the tag set comes from the whole file, the words from the training part)."""
    pairs = [(["a", "b", "c"], ["X", "Y", "X"])] * 30 + [(["rare", "word"], ["Z", "X"])]
    file = write_wordtag(tmp_path / "t.txt", pairs)
    from seqtext.packing import held_out

    seed = next(s for s in range(100) if 30 in held_out(31, 0.2, s))  # a seed that holds the Z sentence out
    tagger = SequenceTagger(**{**FAST, "epochs": 1}, seed=seed, valid_fraction=0.2).fit(file)
    assert tagger.tags == ["X", "Y", "Z"] and "rare" not in tagger.task.vocab.word_id  # its tag known, words not


def test_python_inputs_strings_empty_lists_and_wrong_types(bidirectional):
    """A pair's words as one string split as predict splits them (not into characters); an empty list tags to an
    empty list; None or a number is one sentence."""
    model = bidirectional[0]
    words, tags = next_is_verb(1, 5)[0]
    as_string = model.evaluate([(" ".join(words), " ".join(tags))])
    assert as_string["accuracy"] == model.evaluate([(words, tags)])["accuracy"]
    with pytest.raises(DataError, match="training sentence 1 has 2 words but 3 tags"):
        SequenceTagger(**FAST).fit([("the cat", ["DET", "NOUN", "VERB"])] * 3)
    assert model.predict([]) == [] and model.predict_proba([]) == []
    for bad, words in ((None, "got NoneType"), (123, "got int"), ([None], "not NoneType")):
        with pytest.raises(DataError, match=words):
            model.predict(bad)


def test_a_word_tag_header_line_is_no_word(tmp_path):
    pairs = next_is_verb(30, 3)
    plain = write_wordtag(tmp_path / "plain.txt", pairs)
    headed = tmp_path / "headed.txt"
    headed.write_text("word\ttag\n" + plain.read_text())
    assert read_tagged(headed)[0] == read_tagged(plain)[0]  # "tag" is not trained as a tag of the word "word"


def test_raw_text_keeps_combining_marks_in_their_words():
    """An accent written apart (NFD) or a vowel sign stays in its word; invisible separators part words."""
    from seqtext.tag.data import split_words

    assert split_words("हिन्दी भाषा") == ["हिन्दी", "भाषा"]  # vowel signs and a virama: 2 words, not 10
    assert split_words("cafe\u0301 e\u0301te\u0301") == ["cafe\u0301", "e\u0301te\u0301"]
    assert split_words("a\u200bb x\x00y \ufeffHi") == ["a", "b", "x", "y", "Hi"]  # nothing invisible is a word
    assert split_words("emoji 👩\u200d💻") == ["emoji", "👩\u200d💻"]  # one emoji, as the joiner makes it
    assert split_words("I don't go.") == ["I", "do", "n't", "go", "."]


def test_conllu_output_keeps_every_comment_line_as_written(bidirectional, tmp_path):
    model = str(bidirectional[1] / "model")
    comments = ["# a note without equals", "#nospace", "#  sent_id=b", "# text = the cat runs"]
    tokens = ["1\tthe\tthe\t_\t_\t_\t0\t_\t_\t_", "2\tcat\tcat\t_\t_\t_\t0\t_\t_\t_",
              "3\truns\trun\t_\t_\t_\t0\t_\t_\tSpaceAfter=No"]
    file = tmp_path / "notes.conllu"
    file.write_text("\n".join(comments + tokens) + "\n\n" + "\n".join(["# sent_id = 2", tokens[1]]) + "\n\n")
    result = CliRunner().invoke(cli, ["tag", "predict", "--model", model, "--file", str(file), "--conllu"])
    assert result.exit_code == 0, result.output
    tags = ["O", "NEXT-V", "O"]
    filled = [t.replace("\t_\t_\t_\t0", f"\t{tag}\t_\t_\t0", 1) for t, tag in zip(tokens, tags)]
    assert result.output == "\n".join(comments + filled) + "\n\n# sent_id = 2\n" + tokens[1].replace(
        "\t_\t_\t_\t0", "\tO\t_\t_\t0", 1) + "\n\n"


def test_byte_order_marks_of_files_joined_with_cat_are_no_part_of_a_line(bidirectional, tmp_path):
    model = str(bidirectional[1] / "model")
    bom = "\ufeff"
    plain = CONLLU + "\n" + CONLLU
    for name, text in [("joined.conllu", bom + CONLLU + "\n" + bom + CONLLU),  # a token line after the mark
                       ("commented.conllu", bom + CONLLU + "\n" + bom + "# sent_id = x\n" + CONLLU)]:
        joined = tmp_path / name
        joined.write_text(text, encoding="utf-8")
        expected = plain if name == "joined.conllu" else CONLLU + "\n# sent_id = x\n" + CONLLU
        (tmp_path / "plain.conllu").write_text(expected, encoding="utf-8")
        assert read_tagged(joined) == read_tagged(tmp_path / "plain.conllu")  # training and evaluate read it
        result = CliRunner().invoke(cli, ["tag", "predict", "--model", model, "--file", str(joined), "--conllu"])
        assert result.exit_code == 0, result.output
        assert bom not in result.output and result.output.count("\tdo\t") == 2
        assert "\n# sent_id = x\n" in result.output or name == "joined.conllu"
    pairs = next_is_verb(4, 3)
    wordtag = write_wordtag(tmp_path / "a.txt", pairs[:2]).read_text() + "\n" + bom + \
        write_wordtag(tmp_path / "b.txt", pairs[2:]).read_text()
    (tmp_path / "ab.txt").write_text(wordtag, encoding="utf-8")
    assert read_tagged(tmp_path / "ab.txt")[0] == [(list(w), list(t)) for w, t in pairs]


def test_raw_text_is_split_as_the_english_treebank_splits_it(bidirectional):
    """UD EWT's words: clitics split with either apostrophe; numbers, abbreviations, ellipses and an emoji with its
    modifiers whole; a hyphen after a bound prefix kept (e-mail, re-read), other hyphens split (long - term)."""
    from seqtext.tag.data import split_words

    sentence = "I don’t pay $3.50 for 1,000 U.S. e-mails... 👍🏽"
    words = ["I", "do", "n’t", "pay", "$", "3.50", "for", "1,000", "U.S.", "e-mails", "...", "👍🏽"]
    assert split_words(sentence) == words
    assert split_words("A long-term plan: re-read it at 5:00 p.m., i.e. now?!") == \
        ["A", "long", "-", "term", "plan", ":", "re-read", "it", "at", "5:00", "p.m.", ",", "i.e.", "now", "?!"]
    assert split_words("Call 713-853-3989 -- pages 3-4 , not 1,2") == \
        ["Call", "713-853-3989", "--", "pages", "3", "-", "4", ",", "not", "1", ",", "2"]
    assert split_words("Flags 🇺🇸🇫🇷, a heart ❤️ and keycap 1️⃣") == \
        ["Flags", "🇺🇸", "🇫🇷", ",", "a", "heart", "❤️", "and", "keycap", "1️⃣"]
    assert split_words("I don't think Apple's new phone is cheap.") == \
        ["I", "do", "n't", "think", "Apple", "'s", "new", "phone", "is", "cheap", "."]  # as before
    # never cut inside a run of digits, nor a hyphenated run after its first part: apart as before
    assert split_words("1,0000 or 3,14159 over-the-top ISBN 978-0-306-40615-7") == \
        ["1", ",", "0000", "or", "3", ",", "14159", "over", "-", "the", "-", "top", "ISBN", "978", "-", "0", "-",
         "306", "-", "40615", "-", "7"]
    # a dash or a hyphen beside a word changes nothing of how the word splits
    assert split_words("call 555-1234--ask, the e-mail--sent (555-1234-) --re-read non-e-mail") == \
        ["call", "555-1234", "--", "ask", ",", "the", "e-mail", "--", "sent", "(", "555-1234", "-", ")", "--",
         "re-read", "non", "-", "e", "-", "mail"]
    model = str(bidirectional[1] / "model")
    result = CliRunner().invoke(cli, ["tag", "predict", "--model", model, "--json", sentence])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["words"] == words
    tagger = bidirectional[0]
    assert tagger.predict(sentence) == tagger.predict([words]) == [json.loads(result.output)["tags"]]


def test_a_tag_never_seen_is_named_in_a_message_of_bounded_length():
    """FEATS values run to 80 characters, and a tagger of them knows hundreds: the refusal names a few."""
    tags = [f"Case={c}|Gender=Masc|Number={n}|Person={p}|PronType=Prs|Reflex=Yes" for c in ("Acc", "Nom", "Gen")
            for n in ("Sing", "Plur") for p in "123"]
    pairs = [([f"w{i}" for i in range(len(tags))], tags)] * 4
    tagger = SequenceTagger(**{**FAST, "epochs": 1}, seed=0).fit(pairs, dev=pairs[:1])
    unseen = "Case=Dat|" + "Foreign=Yes|" * 10 + "Typo=Yes"
    with pytest.raises(DataError) as caught:
        tagger.evaluate([(["w1"], [unseen])])
    message = str(caught.value)
    assert message.startswith(f"the tag '{unseen[:57]}...' (evaluation sentence 1) was never seen in training")
    assert message.endswith(" more); retag it or retrain.") and len(message) < 500
